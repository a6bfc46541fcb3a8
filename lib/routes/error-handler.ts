import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isOidcError } from '../errors.js'

const ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
/**
 * Escapes markup characters. `&` is left alone: messages already carry the IdP's
 * text entity-escaped (`&lt;b&gt;`), which then reads as `<b>` on the page; a
 * bare `&` cannot open an element.
 */
const escapeHtml = (text: string): string => text.replace(/[<>"']/g, (c) => ESCAPES[c]!)

/**
 * The error answer of the plugin's routes: the error's status and stable code,
 * a message that never holds a token or an internal detail (5xx errors that are
 * not the plugin's own get a generic message and are logged), as JSON or, for a
 * browser, as a small escaped HTML page. Never cached.
 */
export function oidcErrorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const own = isOidcError(err)
  const status = own ? err.statusCode : (typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500)
  const code = own || status < 500 ? (err.code ?? 'FST_OIDC_ERROR') : 'FST_OIDC_INTERNAL'
  const message = own || status < 500 ? err.message : 'Internal error'
  if (status >= 500) request.log.error({ err }, 'oidc route failed')
  reply.code(status).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  if ((request.headers.accept ?? '').includes('text/html')) {
    const title = escapeHtml(STATUS_CODES[status] ?? 'Error')
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'").header('referrer-policy', 'no-referrer')
    return reply.type('text/html; charset=utf-8').send(
      `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
      `<body><h1>${title}</h1><p>${escapeHtml(message)}</p><p><code>${escapeHtml(code)}</code></p></body></html>`
    )
  }
  return reply.send({ statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message })
}
