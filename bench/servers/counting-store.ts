// The session store of the fastify-oidc rows, counting what a request writes to
// it: the same MemoryStore / RedisStore the plugin opens for `'memory'` or a
// store URL (subclasses: every read and write goes through the very same code),
// with a counter per kind of write. The bench reads the counters before and
// after a login and a load round and prints writes per request.
import type { Session } from 'fastify'
import { MemoryStore } from '../../lib/session/memory-store.js'
import { RedisStore } from '../../lib/session/redis-store.js'
import type { StoreWrites } from '../spec.js'

type Callback = (err?: unknown) => void

/** A zeroed counter set. */
export function noWrites (): StoreWrites {
  return { set: 0, destroy: 0, link: 0, claimOnce: 0 }
}

/** What a counted store writes with: @fastify/session's set / destroy and the plugin's link / claimOnce. */
interface WritingStore {
  set (sessionId: string, session: Session, callback: Callback): void
  destroy (sessionId: string, callback: Callback): void
  link (sessionId: string, keys: readonly string[], ttlMs: number): Promise<void>
  claimOnce (key: string, ttlMs: number): Promise<boolean>
}

/** `Base` with a counter per kind of write; every call still runs `Base`'s own code. */
function counting<B extends new (...args: any[]) => WritingStore> (Base: B) {
  return class Counting extends Base {
    readonly writes = noWrites()
    override set (sessionId: string, session: Session, callback: Callback): void {
      this.writes.set++
      super.set(sessionId, session, callback)
    }

    override destroy (sessionId: string, callback: Callback): void {
      this.writes.destroy++
      super.destroy(sessionId, callback)
    }

    override async link (sessionId: string, keys: readonly string[], ttlMs: number): Promise<void> {
      this.writes.link++
      await super.link(sessionId, keys, ttlMs)
    }

    override async claimOnce (key: string, ttlMs: number): Promise<boolean> {
      this.writes.claimOnce++
      return await super.claimOnce(key, ttlMs)
    }
  }
}

const CountingMemoryStore = counting(MemoryStore)
const CountingRedisStore = counting(RedisStore)

export type CountingStore = InstanceType<typeof CountingMemoryStore> | InstanceType<typeof CountingRedisStore>

/**
 * The store the plugin would open for `location` (`'memory'` or a store URL),
 * with the plugin's defaults (`ttl` its session max age, `max` its memory-store
 * bound, `commandTimeout` as the plugin derives it), counting its writes.
 */
export function countingStore (location: string, settings: { ttl: number, max: number, commandTimeout: number }): CountingStore {
  return location === 'memory'
    ? new CountingMemoryStore({ max: settings.max, ttl: settings.ttl })
    : new CountingRedisStore({ url: location, ttl: settings.ttl, commandTimeout: settings.commandTimeout })
}
