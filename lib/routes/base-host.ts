import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { isLoopbackHost } from '../settings.js'

/** Hosts already warned about (bounded: one line each, not one per login). */
const MAX_WARNED = 100

/**
 * A login must start on the base URL's host: the login cookie set on another
 * host never reaches the callback (which is on the base URL), and the callback
 * then fails with `FST_OIDC_STATE_MISMATCH`. Returns where to send the browser
 * first — the same path and query on the base URL — when the request reached
 * the app under another loopback name on the same scheme and port (127.0.0.1
 * for localhost: surely the same server, so no redirect loop is possible).
 * Any other host mismatch (a proxy that rewrites `Host`, a LAN address) is
 * logged once per host with both names, and the login goes on as asked.
 */
export function baseHostGuard (baseUrl: string, log: FastifyBaseLogger): (request: FastifyRequest) => string | undefined {
  const base = new URL(baseUrl)
  const warned = new Set<string>()
  return (request) => {
    const host = request.host
    if (host === base.host || !URL.canParse(`${request.protocol}://${host}`)) return undefined
    const here = new URL(`${request.protocol}://${host}`)
    if (here.host === base.host) return undefined
    if (here.protocol === base.protocol && here.port === base.port && isLoopbackHost(here.hostname) && isLoopbackHost(base.hostname)) {
      const target = new URL(request.url, base.origin)
      return `${base.origin}${target.pathname}${target.search}`
    }
    if (!warned.has(here.host) && warned.size < MAX_WARNED) {
      warned.add(here.host)
      log.warn({ host: here.host, baseUrl: base.origin },
        `oidc: a login started on ${here.origin} but OIDC_BASE_URL is ${base.origin}: the browser will not bring the login cookie back to the callback (FST_OIDC_STATE_MISMATCH). ` +
        'Browse to the base URL, or set OIDC_BASE_URL to the address users browse to; behind a proxy, give Fastify trustProxy and forward the Host header')
    }
    return undefined
  }
}
