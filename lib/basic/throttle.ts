import { createHmac } from 'node:crypto'
import { MemoryStore } from '../session/memory-store.js'
import { storeCall } from '../session/session-index.js'
import type { OidcSessionStore, SessionStoreCapabilities } from '../session/store.js'
import { deriveKeys } from '../session/keys.js'

/** Where failures are counted, per username and per client IP. */
export interface FailureKeys {
  username: string
  ip: string
}

/**
 * Counts failed Basic logins per username and per client IP in a window,
 * in the session store when it can count (Redis: shared by every instance),
 * else in a bounded counter of this process. Usernames are counted under a
 * keyed hash: the store never holds them in clear.
 */
export class FailureThrottle {
  readonly #counter: Pick<SessionStoreCapabilities, 'count'>
  readonly #key: Uint8Array
  readonly #max: number
  readonly #windowMs: number

  constructor (store: OidcSessionStore, secrets: readonly string[], max: number, windowMs: number) {
    this.#counter = typeof store.count === 'function' ? store as Pick<SessionStoreCapabilities, 'count'> : new MemoryStore({ max: 100_000, ttl: windowMs })
    this.#key = deriveKeys(secrets, 'session-index')[0]!.key
    this.#max = max
    this.#windowMs = windowMs
  }

  #names ({ username, ip }: FailureKeys): string[] {
    return [`basic-user:${createHmac('sha256', this.#key).update(username).digest('base64url')}`, `basic-ip:${ip}`]
  }

  /** Milliseconds until another try is allowed when either counter is at its maximum, else 0. */
  async blockedFor (keys: FailureKeys): Promise<number> {
    const counts = await storeCall(Promise.all(this.#names(keys).map(async (name) => await this.#counter.count(name, 0, this.#windowMs))))
    const full = counts.filter((c) => c.count >= this.#max)
    return full.length === 0 ? 0 : Math.max(...full.map((c) => c.resetMs), 1)
  }

  /** Records one failure under both counters. */
  async fail (keys: FailureKeys): Promise<void> {
    await storeCall(Promise.all(this.#names(keys).map(async (name) => await this.#counter.count(name, 1, this.#windowMs))))
  }
}
