import { createHmac } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
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
 * The form of a username its failures are counted under: Unicode NFKC, then
 * lower case, so `Admin`, `ADMIN` and `ａｄｍｉｎ` (full-width) share one budget
 * wherever the user table compares names loosely. Only the counter key is
 * normalised: `authenticate` still gets the name as typed.
 */
export function throttleName (username: string): string {
  return username.normalize('NFKC').toLowerCase()
}

/**
 * One counter per username and per address holds both numbers, so that one
 * atomic add checks and takes a try: failures (in units of `FAILED`) plus the
 * tries in flight (units of 1).
 */
const FAILED = 1_000_000
/** How often a try that found every slot taken by tries in flight looks again, and for how long at most. */
const POLL_MS = 25
const MAX_WAIT_MS = 5000

interface Count { count: number, resetMs: number }

/**
 * Counts failed Basic logins per username and per client IP in a window,
 * in the session store when it can count (Redis: shared by every instance),
 * else in a bounded counter of this process.
 *
 * Each try is reserved before the application's `authenticate` runs: one
 * atomic add per counter (memory: no `await` between check and add; Redis: one
 * script) takes a slot, and failures plus tries in flight never exceed `max`.
 * A refusal (`fail`) turns its slot into a failure; any other outcome
 * (`release`) hands it back. So a burst of parallel guesses reaches
 * `authenticate` at most `max` times per window, per username and per address,
 * while a client whose tries succeed only waits for a free slot.
 *
 * Counter keys are fixed-length keyed hashes (HMAC-SHA-256 under a key derived
 * from the session secret) of the normalised username and of the address: the
 * store holds no username or address, and a huge forwarded address costs no
 * more than a short one.
 */
export class FailureThrottle {
  readonly #counter: Pick<SessionStoreCapabilities, 'count'>
  readonly #key: Uint8Array
  readonly #max: number
  readonly #windowMs: number

  constructor (store: OidcSessionStore, secrets: readonly string[], max: number, windowMs: number) {
    this.#counter = typeof store.count === 'function' ? store as Pick<SessionStoreCapabilities, 'count'> : new MemoryStore({ max: 100_000, ttl: windowMs })
    this.#key = deriveKeys(secrets, 'basic-throttle')[0]!.key
    this.#max = max
    this.#windowMs = windowMs
  }

  #hash (kind: string, value: string): string {
    return createHmac('sha256', this.#key).update(`${kind}\n${value}`).digest('base64url')
  }

  #names ({ username, ip }: FailureKeys): string[] {
    return [`basic-user:${this.#hash('user', throttleName(username))}`, `basic-ip:${this.#hash('ip', ip)}`]
  }

  async #add (keys: FailureKeys, by: number): Promise<Count[]> {
    return await storeCall(Promise.all(this.#names(keys).map(async (name) => await this.#counter.count(name, by, this.#windowMs))))
  }

  /**
   * Reserves one try under both counters: resolves to 0 when it may go ahead
   * (then `fail` or `release` must follow), else to the milliseconds until
   * another try is allowed (nothing stays reserved). While the slots are only
   * taken by tries in flight it waits for one (up to 5 s, then 1 s to wait).
   */
  async reserve (keys: FailureKeys): Promise<number> {
    const deadline = Date.now() + MAX_WAIT_MS
    for (;;) {
      const counts = await this.#add(keys, 1)
      const full = counts.filter((c) => Math.floor(c.count / FAILED) + c.count % FAILED > this.#max)
      if (full.length === 0) return 0
      await this.release(keys)
      const failed = full.filter((c) => Math.floor(c.count / FAILED) >= this.#max)
      if (failed.length > 0) return Math.max(...failed.map((c) => c.resetMs), 1)
      if (Date.now() >= deadline) return 1000
      await sleep(POLL_MS)
    }
  }

  /** Records a reserved try as a failure. */
  async fail (keys: FailureKeys): Promise<void> {
    const names = this.#names(keys)
    const counts = await this.#add(keys, FAILED - 1)
    // A window that ended while the try was in flight: the add started a new counter, with no slot to turn into a failure.
    const fresh = names.filter((_, i) => counts[i]!.count % FAILED === FAILED - 1)
    await storeCall(Promise.all(fresh.map(async (name) => await this.#counter.count(name, 1, this.#windowMs))))
  }

  /** Hands a reserved try back (it succeeded, or `authenticate` could not judge it). */
  async release (keys: FailureKeys): Promise<void> {
    await this.#add(keys, -1)
  }
}
