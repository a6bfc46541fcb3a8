import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'
import { LRUCache } from 'lru-cache'

type Callback = (err?: unknown) => void
type GetCallback = (err: unknown, session?: Session | null) => void

/**
 * Wraps a session store so that a destroyed session stays destroyed: a request
 * that loaded the session before logout (a slow page, a refresh in flight) can
 * no longer write it back when it answers. Destroyed ids are remembered, in
 * this process, for as long as the session could have lived.
 */
export class TombstoneStore implements SessionStore {
  readonly #inner: SessionStore
  readonly #destroyed: LRUCache<string, true>

  constructor (inner: SessionStore, lifetimeMs: number, max = 100_000) {
    this.#inner = inner
    this.#destroyed = new LRUCache({ max, ttl: lifetimeMs })
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    if (this.#destroyed.has(sessionId)) {
      callback()
      return
    }
    this.#inner.set(sessionId, session, callback)
  }

  get (sessionId: string, callback: GetCallback): void {
    if (this.#destroyed.has(sessionId)) {
      callback(null, null)
      return
    }
    this.#inner.get(sessionId, callback)
  }

  destroy (sessionId: string, callback: Callback): void {
    this.#destroyed.set(sessionId, true)
    this.#inner.destroy(sessionId, callback)
  }
}
