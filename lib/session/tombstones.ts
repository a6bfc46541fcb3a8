import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'
import { LRUCache } from 'lru-cache'
import { OidcSessionStoreError } from '../errors.js'
import { withReason } from '../idp-errors.js'

type Callback = (err?: unknown) => void
type GetCallback = (err: unknown, session?: Session | null) => void

/** A store's failure, as the 503 (`FST_OIDC_SESSION_STORE_UNAVAILABLE`) the client gets: never a 500. */
function unavailable (err: unknown): unknown {
  return err == null ? err : withReason(new OidcSessionStoreError({ cause: err }), 'session_store_error')
}

/** A session holding nothing (its cookie settings aside). */
function isEmpty (session: Session): boolean {
  for (const key in session) if (key !== 'cookie') return false
  return true
}

/**
 * Wraps the session store `@fastify/session` uses:
 * - a destroyed session stays destroyed: a request that loaded the session
 *   before logout (a slow page, a refresh in flight) can no longer write it back
 *   when it answers. Destroyed ids are remembered, in this process, for as long
 *   as the session could have lived (the Redis store also keeps them for every
 *   instance);
 * - a session's token set only moves forward: a request writing the session
 *   with an older token set than the store holds (it loaded the session before
 *   a refresh elsewhere) keeps the newer one (`StoredSession.gen`; one read
 *   before each write, and writes happen only at login, refresh, idle-deadline
 *   moves and the app's own changes);
 * - a failing store answers `FST_OIDC_SESSION_STORE_UNAVAILABLE` (503);
 * - a login's regeneration writes nothing before the login's own write (see
 *   `skipEmpty`).
 */
export class TombstoneStore implements SessionStore {
  readonly #inner: SessionStore
  readonly #destroyed: LRUCache<string, true>
  /** Ids just generated in this process, never stored: an empty session is not written under them, nor are they destroyed. */
  readonly #fresh = new Set<string>()

  constructor (inner: SessionStore, lifetimeMs: number, max = 100_000) {
    this.#inner = inner
    this.#destroyed = new LRUCache({ max, ttl: lifetimeMs })
  }

  /**
   * Until `release`, `ids` (fresh random ids of this process, never stored) are
   * not destroyed and get no empty session written: a login's `regenerate()`
   * destroys the request's unsaved session and writes the new one empty, just
   * before the login writes it in full (one write instead of three).
   */
  skipEmpty (ids: readonly string[]): void {
    for (const id of ids) this.#fresh.add(id)
  }

  /** Ends `skipEmpty` for `ids`. */
  release (ids: readonly string[]): void {
    for (const id of ids) this.#fresh.delete(id)
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    if (this.#destroyed.has(sessionId) || (this.#fresh.has(sessionId) && isEmpty(session))) {
      callback()
      return
    }
    const gen = session.oidc?.gen
    if (gen === undefined) {
      this.#inner.set(sessionId, session, (err) => callback(unavailable(err)))
      return
    }
    // A request that loaded the session before a refresh (or re-seal) saved a newer token set, and
    // changed something else (its idle deadline, the app's own data), writes that change with the
    // newer token set: never the older one (with rotating refresh tokens the IdP has revoked it).
    this.#inner.get(sessionId, (err, current) => {
      if (err != null) {
        callback(unavailable(err))
        return
      }
      const newer = current?.oidc
      if (newer?.gen !== undefined && newer.gen > gen) session.oidc = newer
      this.#inner.set(sessionId, session, (err) => callback(unavailable(err)))
    })
  }

  get (sessionId: string, callback: GetCallback): void {
    if (this.#destroyed.has(sessionId)) {
      callback(null, null)
      return
    }
    this.#inner.get(sessionId, (err, session) => callback(unavailable(err), session))
  }

  destroy (sessionId: string, callback: Callback): void {
    if (this.#fresh.has(sessionId)) {
      callback()
      return
    }
    this.#destroyed.set(sessionId, true)
    this.#inner.destroy(sessionId, (err) => callback(unavailable(err)))
  }

  /** `get` as a promise (a fresh read of another instance's writes). */
  async load (sessionId: string): Promise<Session | null> {
    return await new Promise((resolve, reject) => this.get(sessionId, (err, session) => err == null ? resolve(session ?? null) : reject(err)))
  }

  /** `destroy` as a promise. */
  async remove (sessionId: string): Promise<void> {
    await new Promise<void>((resolve, reject) => this.destroy(sessionId, (err) => err == null ? resolve() : reject(err)))
  }
}
