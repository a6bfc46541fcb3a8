import { OidcSessionStoreError, OidcUnauthenticatedError } from '../errors.js'
import { withReason } from '../idp-errors.js'
import { pendingUntil, refreshPendingError } from './refresh-pending.js'
import { storeCall } from './session-index.js'
import type { OidcSessionStore } from './store.js'
import type { TombstoneStore } from './tombstones.js'
import type { SessionPayload, StoredSession, TokenVault } from './token-vault.js'

export interface RefreshLockDeps {
  innerStore: OidcSessionStore
  store: TombstoneStore
  vault: TokenVault
  /** How long to wait for another instance's refresh, milliseconds (about one IdP call). */
  waitMs: number
  /**
   * How long the lock is held at most, milliseconds: past the refresh grant's own
   * time-out, so it is released by its holder once the IdP answered or the request
   * is dead — never while the IdP may still be processing the grant.
   */
  lockTtlMs: number
}

/**
 * Cluster-wide single flight of a session's refresh, for stores shared by
 * several instances (the in-process single flight runs first): takes the
 * session's lock in the store, then re-reads the session, since another
 * instance may have refreshed it while this one waited — its new token set is
 * then `adopt`ed and no grant is spent (with rotating refresh tokens, a second
 * grant would fail and log the user out). Otherwise `refresh` runs under the
 * lock. A session destroyed meanwhile (logout elsewhere) is 401 with reason
 * `session_ended`; a lock not had in time, with nothing refreshed, is 503:
 * `FST_OIDC_REFRESH_PENDING` when the holder's grant is known to be still at a
 * slow IdP (the session carries its back-off), else `FST_OIDC_SESSION_STORE_UNAVAILABLE`
 * (reason `refresh_lock_timeout`). A store without locks just runs `refresh`.
 */
export async function withRefreshLock<T> (
  deps: RefreshLockDeps,
  sessionId: string,
  accessToken: string,
  refresh: () => Promise<T>,
  adopt: (payload: SessionPayload, stored: StoredSession) => T
): Promise<T> {
  const { innerStore, store, vault, waitMs, lockTtlMs } = deps
  if (innerStore.lock === undefined) return await refresh()
  const release = await storeCall(innerStore.lock(`refresh:${sessionId}`, lockTtlMs, waitMs))
  try {
    const stored = (await store.load(sessionId))?.oidc
    if (stored === undefined) throw withReason(new OidcUnauthenticatedError(), 'session_ended')
    const latest = await vault.open(stored, sessionId)
    if (latest !== null && latest.payload.tokens.accessToken !== accessToken) return adopt(latest.payload, stored)
    if (release === null) {
      const until = pendingUntil(stored)
      throw until > 0 ? refreshPendingError(until, waitMs) : withReason(new OidcSessionStoreError(), 'refresh_lock_timeout')
    }
    return await refresh()
  } finally {
    await release?.().catch(() => {})
  }
}
