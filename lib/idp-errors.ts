import { errors as joseErrors } from 'jose'
import { OperationProcessingError, ResponseBodyError, WWWAuthenticateChallengeError } from 'oauth4webapi'
import {
  OidcIdpError, OidcIdpResponseError, OidcIdpTimeoutError, OidcIdpUnreachableError,
  OidcInvalidGrantError, isOidcError, type OidcError
} from './errors.js'

/** An OidcError with the stable audit `reason` of the failure. */
export type ReasonedError = OidcError & { reason: string }

/** Attaches the audit reason to a plugin error. */
export function withReason<E extends OidcError> (err: E, reason: string): E & { reason: string } {
  return Object.assign(err, { reason })
}

/** The audit reason an error carries, or `fallback` for an error that has none (a bug, a store failure). */
export function reasonOf (err: unknown, fallback: string): string {
  const reason = (err as Partial<ReasonedError> | null)?.reason
  return typeof reason === 'string' ? reason : fallback
}

/** An OAuth `error` code: ASCII letters, digits, `_ . -`, at most 64 — nothing an IdP or an attacker could inject. */
export function isOAuthErrorCode (value: unknown): value is string {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value)
}

interface BoomLike {
  isBoom: true
  message: string
  output: { statusCode: number }
  data?: { isResponseError?: boolean, payload?: unknown } | null | undefined
}

function isBoom (err: unknown): err is BoomLike {
  return typeof err === 'object' && err !== null && (err as BoomLike).isBoom === true
}

/** Only the OAuth `error` code: a safe token of ASCII letters and underscores, nothing the IdP could inject. */
function oauthErrorCode (payload: unknown): string | undefined {
  const code = (payload as { error?: unknown } | null)?.error
  return isOAuthErrorCode(code) ? code : undefined
}

/**
 * The OAuth `error` code of an IdP's error answer (before translation), e.g. `invalid_client`; else undefined.
 * A 401 whose `WWW-Authenticate` challenge names no error is the client authentication failing (RFC 6749 5.2).
 */
export function oauthErrorOf (err: unknown): string | undefined {
  if (err instanceof ResponseBodyError) return oauthErrorCode(err)
  if (err instanceof WWWAuthenticateChallengeError) {
    return oauthErrorCode(err.cause.find((c) => c.parameters.error !== undefined)?.parameters) ?? (err.status === 401 ? 'invalid_client' : undefined)
  }
  return isBoom(err) && err.data?.isResponseError === true ? oauthErrorCode(err.data.payload) : undefined
}

/** An error answer of an IdP through oauth4webapi (PAR, private_key_jwt revocation) as a plugin error. */
function fromOauth4webapi (err: ResponseBodyError | WWWAuthenticateChallengeError | OperationProcessingError, endpoint: string): ReasonedError {
  const status = err instanceof OperationProcessingError ? (err.cause instanceof Response ? err.cause.status : 200) : err.status
  const code = oauthErrorOf(err)
  if (code === 'invalid_grant') return withReason(new OidcInvalidGrantError(), 'invalid_grant')
  if (code !== undefined && status < 500) return withReason(new OidcIdpError(`the ${endpoint} endpoint answered ${code}`), `${endpoint}_error`)
  return withReason(new OidcIdpResponseError(status === 200 || status === 201 ? `the ${endpoint} endpoint answered something unusable` : `the ${endpoint} endpoint answered HTTP ${status}`), `${endpoint}_error`)
}

/**
 * The one boundary where errors from the HTTP clients (simple-oauth2 / wreck,
 * oauth4webapi), `fetch` and `jose` JWKS fetching become plugin errors. The original is kept as
 * `cause` only when it carries nothing from the IdP's body.
 */
export function translateIdpError (err: unknown, endpoint: string): ReasonedError {
  if (isOidcError(err) && typeof (err as Partial<ReasonedError>).reason === 'string') return err as ReasonedError
  if (isBoom(err)) {
    const status = err.output.statusCode
    if (err.data?.isResponseError === true) {
      const code = oauthErrorCode(err.data.payload)
      if (code === 'invalid_grant') return withReason(new OidcInvalidGrantError(), 'invalid_grant')
      if (code !== undefined && status < 500) return withReason(new OidcIdpError(`the ${endpoint} endpoint answered ${code}`), `${endpoint}_error`)
      return withReason(new OidcIdpResponseError(`the ${endpoint} endpoint answered HTTP ${status}`), `${endpoint}_error`)
    }
    if (status === 504) return withReason(new OidcIdpTimeoutError(), 'idp_timeout')
    // wreck's Boom.badGateway('Client request error', cause) appends the cause: 'Client request error: connect ECONNREFUSED ...'
    if (err.message.startsWith('Client request error')) return withReason(new OidcIdpUnreachableError(), 'idp_unreachable')
    return withReason(new OidcIdpResponseError(`the ${endpoint} endpoint answered something that is not JSON`), `${endpoint}_error`)
  }
  if (err instanceof ResponseBodyError || err instanceof WWWAuthenticateChallengeError || err instanceof OperationProcessingError) return fromOauth4webapi(err, endpoint)
  if (err instanceof joseErrors.JWKSTimeout || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
    return withReason(new OidcIdpTimeoutError(), 'idp_timeout')
  }
  // fetch's `response.json()` on a body that is not JSON (e.g. an HTML page from a proxy).
  if (err instanceof SyntaxError) return withReason(new OidcIdpResponseError(`the ${endpoint} endpoint answered something that is not JSON`), `${endpoint}_error`)
  if (err instanceof joseErrors.JOSEError) {
    return withReason(new OidcIdpResponseError(`the ${endpoint} endpoint answered something unusable`), `${endpoint}_error`)
  }
  return withReason(new OidcIdpUnreachableError(), 'idp_unreachable')
}
