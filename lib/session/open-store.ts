import type { ResolvedConfig } from '../config.js'
import { MemoryStore } from './memory-store.js'
import { RedisStore } from './redis-store.js'
import type { OidcSessionStore } from './store.js'

/**
 * The session store of a configuration: the bounded memory store, a Redis
 * store for a `redis://` / `rediss://` URL (waiting briefly for the connection:
 * the app starts even when Redis is down, and answers 503 until it is back), or
 * the store object given.
 */
export async function openSessionStore (config: ResolvedConfig): Promise<OidcSessionStore> {
  const ttl = config.sessionMaxAge * 1000
  if (config.sessionStore === 'memory') return new MemoryStore({ max: config.memoryStoreMax, ttl })
  if (typeof config.sessionStore === 'string') {
    const store = new RedisStore({ url: config.sessionStore, ttl, commandTimeout: Math.min(config.httpTimeout, 2000) })
    await store.ready()
    return store
  }
  return config.sessionStore
}
