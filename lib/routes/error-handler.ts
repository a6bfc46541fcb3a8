import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isOidcError } from '../errors.js'
import { escapeHtml as escapeAll } from '../escape.js'

const ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
/**
 * Escapes markup characters. `&` is left alone: messages already carry the IdP's
 * text entity-escaped (`&lt;b&gt;`), which then reads as `<b>` on the page; a
 * bare `&` cannot open an element.
 */
const escapeHtml = (text: string): string => text.replace(/[<>"']/g, (c) => ESCAPES[c]!)

/** Seconds a client should wait before trying again, for the errors that pass (store, IdP, provider). */
const RETRY_AFTER: Record<string, number> = {
  FST_OIDC_SESSION_STORE_UNAVAILABLE: 5,
  FST_OIDC_IDP_UNREACHABLE: 5,
  FST_OIDC_IDP_BAD_RESPONSE: 5,
  FST_OIDC_IDP_TIMEOUT: 5
}

/** The `Retry-After` of an error (its own `retryAfter`, seconds, when it carries one), or undefined. */
export function retryAfterOf (err: unknown): number | undefined {
  const { code, retryAfter } = err as { code?: unknown, retryAfter?: unknown }
  if (typeof retryAfter === 'number') return retryAfter
  return typeof code === 'string' ? RETRY_AFTER[code] : undefined
}

/** A link to a fresh login, for an error that carries one (a same-origin path the plugin built). */
function retryLink (err: unknown): string {
  const url = (err as { retryUrl?: unknown }).retryUrl
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//')) return ''
  return `<p><a href="${escapeAll(url)}">Log in again</a></p>`
}

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
      `<body><h1>${title}</h1><p>${escapeHtml(message)}</p><p><code>${escapeHtml(code)}</code></p>${retryLink(err)}</body></html>`
    )
  }
  return reply.send({ statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message })
}
