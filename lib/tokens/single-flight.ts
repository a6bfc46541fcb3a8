import { LRUCache } from 'lru-cache'

/** A piece of work in flight that callers share. */
export interface Flight<T> {
  /** Settles with the work itself (the IdP's answer, or the request known dead). */
  readonly settled: Promise<T>
  /** While the work runs on past its callers' patience: until when it may still run (ms since the epoch). */
  readonly pendingUntil: number | undefined
  /** What a caller waits for: the work's result, or an error once the callers' patience ran out. */
  wait: () => Promise<T>
}

interface Entry<F> {
  from: string
  flight: F
}

/**
 * One refresh per session at a time within this process. Callers that need to
 * refresh the same session from the same token join the running flight; a
 * caller that arrives just after it succeeded (having read the session before
 * the new tokens were saved) gets the same result instead of spending the
 * rotated refresh token a second time.
 *
 * A flight stays registered until its work has settled — not merely until its
 * callers stopped waiting (a time-out): while the IdP may still process a grant,
 * no second one starts here. A failed flight is forgotten when it fails.
 *
 * @example
 * const flight = flights.join(sessionId, tokens.accessToken, () => startRefresh(tokens))
 * const fresh = await flight.wait()
 */
export class SingleFlight<F extends Flight<unknown>> {
  readonly #flights: LRUCache<string, Entry<F>>

  constructor (rememberMs = 30_000, max = 10_000) {
    this.#flights = new LRUCache({ max, ttl: rememberMs })
  }

  /** The flight of `key` started from `from` (running, or recently succeeded), else the one `start` starts now. */
  join (key: string, from: string, start: () => F): F {
    const current = this.#flights.get(key)
    if (current !== undefined && current.from === from) return current.flight
    const entry: Entry<F> = { from, flight: start() }
    // No expiry while running; remembered for `rememberMs` once it succeeded.
    this.#flights.set(key, entry, { ttl: 0 })
    entry.flight.settled.then(() => {
      if (this.#flights.get(key) === entry) this.#flights.set(key, entry)
    }, () => {
      if (this.#flights.get(key) === entry) this.#flights.delete(key)
    })
    return entry.flight
  }
}
