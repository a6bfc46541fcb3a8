import { setTimeout as sleep } from 'node:timers/promises'
import type { Session } from 'fastify'
import { LRUCache } from 'lru-cache'
import { expiryOf, type SessionStoreCapabilities } from './store.js'
import type { SessionStore } from '@fastify/session'

type Callback = (err?: unknown) => void
type GetCallback = (err: unknown, session?: Session | null) => void

export interface MemoryStoreOptions {
  /** Most sessions held; the least recently used is dropped beyond it. Default 10000. */
  max?: number | undefined
  /** Lifetime of a session without a cookie expiry, milliseconds. Default 8 hours. */
  ttl?: number | undefined
}

/** How often a waiting `lock` looks again, milliseconds. */
const LOCK_POLL_MS = 10

/**
 * A bounded, expiring in-process session store for `@fastify/session`
 * (whose own `MemoryStore` is an unbounded `Map` that never expires).
 * Each entry lives until its cookie's expiry (or its idle deadline); the least
 * recently used session is evicted when `max` is reached. Fit for one process
 * only. It keeps a plain JSON snapshot of each session, as a shared store would:
 * never the live session object (which references its request and socket).
 * Its session index, replay cache and locks are bounded the same way.
 */
export class MemoryStore implements SessionStore, SessionStoreCapabilities {
  readonly #cache: LRUCache<string, Session>
  readonly #index: LRUCache<string, Set<string>>
  readonly #claimed: LRUCache<string, true>
  readonly #locks: LRUCache<string, symbol>
  readonly #counters: LRUCache<string, number>
  readonly #ttl: number

  constructor (options: MemoryStoreOptions = {}) {
    this.#ttl = options.ttl ?? 8 * 3600 * 1000
    const max = options.max ?? 10_000
    this.#cache = new LRUCache({ max, ttl: this.#ttl })
    this.#index = new LRUCache({ max, ttl: this.#ttl })
    this.#claimed = new LRUCache({ max, ttl: this.#ttl })
    this.#locks = new LRUCache({ max, ttl: this.#ttl })
    this.#counters = new LRUCache({ max, ttl: this.#ttl, noUpdateTTL: true })
  }

  /** Number of sessions currently held. */
  get size (): number {
    return this.#cache.size
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    const ttl = expiryOf(session, this.#ttl) - Date.now()
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

  async link (sessionId: string, keys: readonly string[], ttlMs: number): Promise<void> {
    for (const key of keys) {
      const members = this.#index.get(key) ?? new Set<string>()
      members.add(sessionId)
      this.#index.set(key, members, { ttl: ttlMs })
    }
  }

  async members (key: string): Promise<string[]> {
    return [...this.#index.get(key) ?? []]
  }

  async claimOnce (key: string, ttlMs: number): Promise<boolean> {
    if (this.#claimed.has(key)) return false
    this.#claimed.set(key, true, { ttl: ttlMs })
    return true
  }

  async count (key: string, by: number, windowMs: number): Promise<{ count: number, resetMs: number }> {
    const current = this.#counters.get(key)
    // Check and add in one synchronous step (no await between them): parallel callers cannot both see room.
    if (current === undefined) {
      // Taking back from a counter whose window is over starts nothing.
      if (by <= 0) return { count: 0, resetMs: 0 }
      this.#counters.set(key, by, { ttl: windowMs })
      return { count: by, resetMs: windowMs }
    }
    this.#counters.set(key, current + by)
    return { count: current + by, resetMs: this.#counters.getRemainingTTL(key) }
  }

  async lock (key: string, ttlMs: number, waitMs: number): Promise<(() => Promise<void>) | null> {
    const deadline = Date.now() + waitMs
    while (this.#locks.has(key)) {
      if (Date.now() >= deadline) return null
      await sleep(LOCK_POLL_MS)
    }
    // Released only by its holder: a lock that outlived its ttl and was taken again is not touched.
    const holder = Symbol(key)
    this.#locks.set(key, holder, { ttl: ttlMs })
    return async () => {
      if (this.#locks.get(key) === holder) this.#locks.delete(key)
    }
  }
}
