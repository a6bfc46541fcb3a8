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
