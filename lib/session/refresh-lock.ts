import { OidcSessionStoreError, OidcUnauthenticatedError } from '../errors.js'
import { withReason } from '../idp-errors.js'
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
}

/**
 * Cluster-wide single flight of a session's refresh, for stores shared by
 * several instances (the in-process single flight runs first): takes the
 * session's lock in the store, then re-reads the session, since another
 * instance may have refreshed it while this one waited — its new token set is
 * then `adopt`ed and no grant is spent (with rotating refresh tokens, a second
 * grant would fail and log the user out). Otherwise `refresh` runs under the
 * lock. A session destroyed meanwhile (logout elsewhere) is 401 with reason
 * `session_ended`; a lock not had in time, with nothing refreshed, is 503.
 * A store without locks just runs `refresh`.
 */
export async function withRefreshLock<T> (
  deps: RefreshLockDeps,
  sessionId: string,
  accessToken: string,
  refresh: () => Promise<T>,
  adopt: (payload: SessionPayload, stored: StoredSession) => T
): Promise<T> {
  const { innerStore, store, vault, waitMs } = deps
  if (innerStore.lock === undefined) return await refresh()
  const release = await storeCall(innerStore.lock(`refresh:${sessionId}`, waitMs + 5000, waitMs))
  try {
    const stored = (await store.load(sessionId))?.oidc
    if (stored === undefined) throw withReason(new OidcUnauthenticatedError(), 'session_ended')
    const latest = await vault.open(stored, sessionId)
    if (latest !== null && latest.payload.tokens.accessToken !== accessToken) return adopt(latest.payload, stored)
    if (release === null) throw withReason(new OidcSessionStoreError(), 'refresh_lock_timeout')
    return await refresh()
  } finally {
    await release?.().catch(() => {})
  }
}
