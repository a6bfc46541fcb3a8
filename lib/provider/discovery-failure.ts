import { OidcDiscoveryError } from '../errors.js'
import { withReason, type ReasonedError } from '../idp-errors.js'

/** The IdP could not be reached or answered 5xx / 408 / 429: worth retrying, the settings may be right. */
export const UNAVAILABLE = 'provider_unavailable'
/**
 * The IdP answered, but not with the metadata of the configured issuer (404 for a
 * realm typo, 401/403, not JSON, another issuer): a configuration problem. Still
 * retried (an IdP being deployed can answer so for a while), but reported as what it is.
 */
export const MISCONFIGURED = 'provider_misconfigured'

/**
 * What went wrong with a metadata `fetch` of `url`, in one line: the time-out, or
 * the low-level cause that undici hides behind `fetch failed` (`ECONNREFUSED`,
 * `ENOTFOUND`, a TLS error code such as `ERR_SSL_WRONG_VERSION_NUMBER` or
 * `DEPTH_ZERO_SELF_SIGNED_CERT`) with its message.
 */
export function describeFetchFailure (err: unknown, url: string, httpTimeout: number): string {
  const error = err as Error & { cause?: { code?: unknown, message?: unknown, errors?: Array<{ message?: unknown }> } }
  if (error.name === 'TimeoutError') return `${url} did not answer within ${httpTimeout} ms`
  const cause = error.cause
  if (cause === undefined || cause === null) return `${url}: ${error.message}`
  const code = typeof cause.code === 'string' ? cause.code : undefined
  // An AggregateError (every address of a name refused) has an empty message of its own.
  const message = typeof cause.message === 'string' && cause.message !== '' ? cause.message : cause.errors?.map((e) => String(e.message)).join('; ')
  return `${url} could not be fetched: ${[code, message].filter((part) => part !== undefined && part !== '').join(': ')}`
}

/** The discovery error of an HTTP status other than 2xx: unavailable for 5xx, 408 and 429, misconfigured otherwise. */
export function httpStatusFailure (url: string, status: number): ReasonedError {
  const transient = status >= 500 || status === 408 || status === 429
  const hint = status === 404 ? ' (check the issuer URL: a typo in the realm or tenant?)' : ''
  return withReason(new OidcDiscoveryError(`${url} answered HTTP ${status}${hint}`), transient ? UNAVAILABLE : MISCONFIGURED)
}

/** A fetch that failed before any answer (refused, DNS, TLS, time-out): unavailable, with the cause in the message. */
export function fetchFailure (err: unknown, url: string, httpTimeout: number): ReasonedError {
  return withReason(new OidcDiscoveryError(describeFetchFailure(err, url, httpTimeout), { cause: err }), UNAVAILABLE)
}

/** An answer that is no metadata document (not JSON, no issuer): misconfigured. */
export function notMetadataFailure (url: string): ReasonedError {
  return withReason(new OidcDiscoveryError(`${url} did not return an OpenID Provider metadata document (is it the issuer's URL?)`), MISCONFIGURED)
}
