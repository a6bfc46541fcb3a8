import type { FastifyRequest } from 'fastify'
import { OidcCrossOriginError } from '../errors.js'

/**
 * CSRF defence for state-changing routes: refuses a request whose `Origin` is
 * another origin (or `null`), or whose `Sec-Fetch-Site` is `cross-site` or
 * `same-site`. A request with neither header does not come from a browser.
 */
export function assertSameOrigin (request: FastifyRequest, baseUrl: string): void {
  const origin = request.headers.origin
  const site = request.headers['sec-fetch-site']
  if (origin !== undefined && origin !== baseUrl) throw new OidcCrossOriginError()
  if (site === 'cross-site' || site === 'same-site') throw new OidcCrossOriginError()
}

/** The origin of a `Referer`, or `null` for one that is not a URL. */
function refererOrigin (referer: string): string | null {
  return URL.canParse(referer) ? new URL(referer).origin : null
}

/**
 * Whether a browser `GET` comes from somewhere other than the app's own pages:
 * `Sec-Fetch-Site` other than `same-origin` or `none` (typed in the address
 * bar), or an `Origin` or `Referer` of another origin. A request with none of
 * these headers is taken for a non-browser client (false).
 */
export function isForeignContext (request: FastifyRequest, baseUrl: string): boolean {
  const own = new URL(baseUrl).origin
  const { origin, referer } = request.headers
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true
  if (origin !== undefined && origin !== own) return true
  return referer !== undefined && refererOrigin(referer) !== own
}
