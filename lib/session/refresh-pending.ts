import { OidcIdpTimeoutError, OidcRefreshPendingError } from '../errors.js'
import { withReason, type ReasonedError } from '../idp-errors.js'
import type { StoredSession } from './token-vault.js'

/**
 * When the back-off of a session whose refresh is still at the IdP ends at the
 * latest (ms since the epoch), or 0 when none is pending. The mark is written
 * into the stored session by the instance whose grant outlived the HTTP
 * time-out, so every instance sharing the store sees it with the session it
 * already reads; the IdP's late answer (or the grant's failure) removes it.
 */
export function pendingUntil (stored: StoredSession | undefined): number {
  const until = stored?.refreshPendingUntil
  return typeof until === 'number' && until > Date.now() ? until : 0
}

/**
 * Seconds to answer in `Retry-After` while a refresh is pending until `until`:
 * the time left, but at most `capMs` (about one IdP time-out) — the late answer
 * may end the back-off at any moment, and a retry until then costs no IdP call.
 */
function retryAfter (until: number, capMs: number): number {
  return Math.max(1, Math.ceil(Math.min(until - Date.now(), capMs) / 1000))
}

/** 503 `FST_OIDC_REFRESH_PENDING` (reason `refresh_pending`) with its `Retry-After`. */
export function refreshPendingError (until: number, capMs: number): ReasonedError {
  return Object.assign(withReason(new OidcRefreshPendingError(), 'refresh_pending'), { retryAfter: retryAfter(until, capMs) })
}

/** 504 `FST_OIDC_IDP_TIMEOUT` (reason `idp_timeout`) for the callers of a grant still at the IdP, with its `Retry-After`. */
export function refreshTimeoutError (until: number, capMs: number): ReasonedError {
  return Object.assign(withReason(new OidcIdpTimeoutError(), 'idp_timeout'), { retryAfter: retryAfter(until, capMs) })
}
