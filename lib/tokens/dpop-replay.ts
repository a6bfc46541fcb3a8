import { LRUCache } from 'lru-cache'

/**
 * Claims `key` for `ttlMs`: resolves to true the first time, false while it is
 * still claimed (a replay). `SessionStoreCapabilities.claimOnce` has this shape,
 * so a `RedisStore` shared by several instances can be given as is.
 */
export interface ReplayStore {
  claimOnce: (key: string, ttlMs: number) => Promise<boolean>
}

/** Most proof ids remembered in memory, whatever the number of requests. */
export const MEMORY_REPLAY_MAX = 100_000

/**
 * The single-process replay cache of DPoP proof ids: a bounded LRU whose entries
 * live `ttlMs` (the proofs' acceptance window). Past `max` live entries, the
 * oldest are forgotten first: with more than `max` proofs per window, a proof
 * forgotten that way could be replayed within its window (give the resource
 * server a shared store, e.g. Redis, for that load or for several instances).
 */
export function memoryReplayStore (max = MEMORY_REPLAY_MAX): ReplayStore {
  const seen = new LRUCache<string, true>({ max })
  return {
    async claimOnce (key, ttlMs) {
      if (seen.has(key)) return false
      seen.set(key, true, { ttl: ttlMs })
      return true
    }
  }
}
