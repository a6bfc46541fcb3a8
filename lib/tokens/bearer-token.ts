import type { FastifyRequest } from 'fastify'
import { OidcBearerRequestInvalidError, OidcDpopProofInvalidError } from '../errors.js'

/** RFC 6750 2.1: `Bearer 1*SP b64token`; RFC 9449 7.1: `DPoP 1*SP token68`, the same syntax. */
const CREDENTIALS = /^(Bearer|DPoP) +([\w\-.~+/]+=*)$/i
/** RFC 9449 4.1: a DPoP proof is one compact JWS. */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/

/** An access token and the scheme it came with. */
export interface PresentedToken {
  token: string
  /** `bearer` (RFC 6750) or `dpop` (RFC 9449: a proof must come with it). */
  scheme: 'bearer' | 'dpop'
}

/** How many times the request carries the header `name` (lowercase). */
function headerCount (request: FastifyRequest, name: string): number {
  const raw = request.raw.rawHeaders
  let count = 0
  // (Names of another length are skipped without a lower-cased copy of each.)
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) count++
  return count
}
const SCHEME = /^[\w!#$%&'*+.^`|~-]+(?: |$)/

/** True when the request carries an `access_token` form-body parameter (RFC 6750 2.2). */
function inFormBody (request: FastifyRequest): boolean {
  const form = (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')
  const body = request.body
  return form && typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token')
}

/**
 * The access token of a request, from its one `Authorization: Bearer` or
 * `Authorization: DPoP` (RFC 9449) header, with its scheme, or `undefined`
 * when it has none (no header, or another scheme such as Basic).
 *
 * Only the header is accepted (RFC 6750 2.1). A token in the URI query (2.3,
 * which RFC 9700 tells clients not to use: URLs end up in logs and Referer
 * headers) or in a form body (2.2), alone or besides the header, a repeated
 * `Authorization` header and malformed `Bearer` credentials are refused with
 * `FST_OIDC_BEARER_REQUEST_INVALID` (400 `invalid_request`). Form bodies are
 * seen once parsed: call it from a `preHandler`.
 */
export function extractBearerToken (request: FastifyRequest): PresentedToken | undefined {
  if (headerCount(request, 'authorization') > 1) throw new OidcBearerRequestInvalidError('more than one Authorization header')
  const query = request.url.indexOf('?')
  if ((query !== -1 && new URLSearchParams(request.url.slice(query + 1)).has('access_token')) || inFormBody(request)) {
    throw new OidcBearerRequestInvalidError('the access token is only accepted in the Authorization header')
  }
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const scheme = SCHEME.exec(header)?.[0].trim()
  if (scheme === undefined) throw new OidcBearerRequestInvalidError('malformed Authorization header')
  const name = scheme.toLowerCase()
  if (name !== 'bearer' && name !== 'dpop') return undefined
  const match = CREDENTIALS.exec(header)
  if (match === null) throw new OidcBearerRequestInvalidError(`malformed ${name === 'dpop' ? 'DPoP' : 'Bearer'} credentials`)
  return { token: match[2]!, scheme: name }
}

/**
 * The request's DPoP proof (RFC 9449 4.3 steps 1-2): its one `DPoP` header, a
 * compact JWS. None, several or a malformed one: `FST_OIDC_DPOP_PROOF_INVALID`.
 */
export function extractDpopProof (request: FastifyRequest): string {
  const count = headerCount(request, 'dpop')
  if (count > 1) throw new OidcDpopProofInvalidError('more than one DPoP header')
  const proof = request.headers.dpop
  if (count === 0 || typeof proof !== 'string') throw new OidcDpopProofInvalidError('no DPoP header')
  if (!COMPACT_JWS.test(proof)) throw new OidcDpopProofInvalidError('the DPoP header is not a compact JWS')
  return proof
}
