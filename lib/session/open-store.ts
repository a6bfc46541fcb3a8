import type { ResolvedConfig } from '../config.js'
import { MemoryStore } from './memory-store.js'
import { RedisStore } from './redis-store.js'
import type { OidcSessionStore } from './store.js'

/**
 * The session store of a configuration: the bounded memory store, a Redis
 * store for a store URL (one server, a Cluster or Sentinels), or the store
 * object given. Every Redis-backed store — also a `RedisStore` the app built
 * on its own `Redis` or `Cluster` client — is waited for, briefly, before the
 * app serves: the app starts even when Redis is down, and answers 503 until it
 * is back.
 */
export async function openSessionStore (config: ResolvedConfig): Promise<OidcSessionStore> {
  const ttl = config.sessionMaxAge * 1000
  if (config.sessionStore === 'memory') return new MemoryStore({ max: config.memoryStoreMax, ttl })
  const store = typeof config.sessionStore === 'string'
    ? new RedisStore({ url: config.sessionStore, ttl, commandTimeout: Math.min(config.httpTimeout, 2000) })
    : config.sessionStore
  if (store instanceof RedisStore) await store.ready()
  return store
}
