import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'
import { LRUCache } from 'lru-cache'

type Callback = (err?: unknown) => void
type GetCallback = (err: unknown, session?: Session | null) => void

export interface MemoryStoreOptions {
  /** Most sessions held; the least recently used is dropped beyond it. Default 10000. */
  max?: number
  /** Lifetime of a session without a cookie expiry, milliseconds. Default 8 hours. */
  ttl?: number
}

/**
 * A bounded, expiring in-process session store for `@fastify/session`
 * (whose own `MemoryStore` is an unbounded `Map` that never expires).
 * Each entry lives until its cookie's expiry; the least recently used
 * session is evicted when `max` is reached. Fit for one process only.
 * It keeps a plain JSON snapshot of each session, as a shared store would:
 * never the live session object (which references its request and socket).
 */
export class MemoryStore implements SessionStore {
  readonly #cache: LRUCache<string, Session>
  readonly #ttl: number

  constructor (options: MemoryStoreOptions = {}) {
    this.#ttl = options.ttl ?? 8 * 3600 * 1000
    this.#cache = new LRUCache({ max: options.max ?? 10_000, ttl: this.#ttl })
  }

  /** Number of sessions currently held. */
  get size (): number {
    return this.#cache.size
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    const expires = session.cookie?.expires
    const ttl = expires instanceof Date ? expires.getTime() - Date.now() : this.#ttl
    if (ttl <= 0) this.#cache.delete(sessionId)
    else this.#cache.set(sessionId, JSON.parse(JSON.stringify(session)) as Session, { ttl })
    callback()
  }

  get (sessionId: string, callback: GetCallback): void {
    callback(null, this.#cache.get(sessionId) ?? null)
  }

  destroy (sessionId: string, callback: Callback): void {
    this.#cache.delete(sessionId)
    callback()
  }
}
