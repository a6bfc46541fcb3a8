import { LRUCache } from 'lru-cache'

interface Flight<T> {
  from: string
  promise: Promise<T>
}

/**
 * One refresh per session at a time within this process. Callers that need to
 * refresh the same session from the same token join the running flight; a
 * caller that arrives just after it finished (having read the session before
 * the new tokens were saved) gets the same result instead of spending the
 * rotated refresh token a second time.
 *
 * @example
 * const fresh = await flights.run(sessionId, tokens.accessToken, () => client.refresh(tokens))
 */
export class SingleFlight<T extends {}> {
  readonly #flights: LRUCache<string, Flight<T>>

  constructor (rememberMs = 30_000, max = 10_000) {
    this.#flights = new LRUCache({ max, ttl: rememberMs })
  }

  async run (key: string, from: string, task: () => Promise<T>): Promise<T> {
    const current = this.#flights.get(key)
    if (current !== undefined && current.from === from) return await current.promise
    const promise = task()
    this.#flights.set(key, { from, promise })
    try {
      return await promise
    } catch (err) {
      if (this.#flights.get(key)?.promise === promise) this.#flights.delete(key)
      throw err
    }
  }
}
