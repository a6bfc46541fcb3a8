import type { FastifyRequest } from 'fastify'
import { OidcBearerRequestInvalidError } from '../errors.js'

/** RFC 6750 2.1: `Bearer 1*SP b64token`. */
const BEARER = /^Bearer +([\w\-.~+/]+=*)$/i
const SCHEME = /^[\w!#$%&'*+.^`|~-]+(?: |$)/

/** True when the request carries an `access_token` form-body parameter (RFC 6750 2.2). */
function inFormBody (request: FastifyRequest): boolean {
  const form = (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')
  const body = request.body
  return form && typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token')
}

/**
 * The bearer token of a request, from its one `Authorization: Bearer` header,
 * or `undefined` when it has none (no header, or another scheme such as Basic).
 *
 * Only the header is accepted (RFC 6750 2.1). A token in the URI query (2.3,
 * which RFC 9700 tells clients not to use: URLs end up in logs and Referer
 * headers) or in a form body (2.2), alone or besides the header, a repeated
 * `Authorization` header and malformed `Bearer` credentials are refused with
 * `FST_OIDC_BEARER_REQUEST_INVALID` (400 `invalid_request`). Form bodies are
 * seen once parsed: call it from a `preHandler`.
 */
export function extractBearerToken (request: FastifyRequest): string | undefined {
  const raw = request.raw.rawHeaders
  let headers = 0
  // (Names of another length are skipped without a lower-cased copy of each.)
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') headers++
  if (headers > 1) throw new OidcBearerRequestInvalidError('more than one Authorization header')
  const query = request.url.indexOf('?')
  if ((query !== -1 && new URLSearchParams(request.url.slice(query + 1)).has('access_token')) || inFormBody(request)) {
    throw new OidcBearerRequestInvalidError('the access token is only accepted in the Authorization header')
  }
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const scheme = SCHEME.exec(header)?.[0].trim()
  if (scheme === undefined) throw new OidcBearerRequestInvalidError('malformed Authorization header')
  if (scheme.toLowerCase() !== 'bearer') return undefined
  const match = BEARER.exec(header)
  if (match === null) throw new OidcBearerRequestInvalidError('malformed Bearer credentials')
  return match[1]
}
