import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'

/**
 * What the plugin needs from a session store beyond `@fastify/session`'s
 * callback `get` / `set` / `destroy`. The memory store has them for one
 * process, the Redis store across every instance sharing it. A custom store
 * without them still works for sessions; back-channel logout then answers 501
 * and refresh is single-flight per process only.
 */
export interface SessionStoreCapabilities {
  /** Records `sessionId` under each of `keys` (opaque, already hashed) for `ttlMs`. */
  link: (sessionId: string, keys: readonly string[], ttlMs: number) => Promise<void>
  /** The session ids recorded under `key`. */
  members: (key: string) => Promise<string[]>
  /** True the first time `key` is claimed within `ttlMs` (replay caches). */
  claimOnce: (key: string, ttlMs: number) => Promise<boolean>
  /**
   * Takes the lock `key` for at most `ttlMs`, waiting up to `waitMs`: resolves to
   * its release function, or `null` when it could not be had in time.
   */
  lock: (key: string, ttlMs: number, waitMs: number) => Promise<(() => Promise<void>) | null>
  /**
   * Adds `by` (0 reads, negative takes back) to the counter `key`, whose window of
   * `windowMs` starts with its first increment, and resolves to the new count and
   * the milliseconds left in its window (throttling of failed logins). The add and
   * the count it returns must be one atomic step, so parallel callers each see
   * their own count; taking back from a counter that is gone creates nothing.
   */
  count: (key: string, by: number, windowMs: number) => Promise<{ count: number, resetMs: number }>
}

/** A session store, possibly with the plugin's capabilities. */
export type OidcSessionStore = SessionStore & Partial<SessionStoreCapabilities>

/** True when the store has every capability. */
export function isCapable (store: OidcSessionStore): store is SessionStore & SessionStoreCapabilities {
  return typeof store.link === 'function' && typeof store.members === 'function' &&
    typeof store.claimOnce === 'function' && typeof store.lock === 'function' && typeof store.count === 'function'
}

/**
 * When a stored session must be gone (milliseconds since the epoch): its
 * cookie's expiry (the absolute lifetime) or its idle deadline, whichever comes
 * first; `fallbackMs` from now when it has neither.
 */
export function expiryOf (session: Session, fallbackMs: number): number {
  const expires = session.cookie?.expires
  const absolute = expires instanceof Date ? expires.getTime() : Date.now() + fallbackMs
  const idle = (session as { oidc?: { idleUntil?: unknown } }).oidc?.idleUntil
  return typeof idle === 'number' ? Math.min(absolute, idle) : absolute
}
