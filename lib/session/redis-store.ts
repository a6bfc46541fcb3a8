import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'
import type { Cluster, Redis } from 'ioredis'
import { createRedisClient } from './redis-client.js'
import { parseRedisUrl } from './redis-url.js'
import { expiryOf, type SessionStoreCapabilities } from './store.js'

type Callback = (err?: unknown) => void
type GetCallback = (err: unknown, session?: Session | null) => void

export interface RedisStoreOptions {
  /**
   * A `redis://` / `rediss://` URL, `redis+cluster://h:p,h:p` / `rediss+cluster://…`
   * (Cluster seed nodes) or `redis+sentinel://h:p,h:p/<master-name>` /
   * `rediss+sentinel://…` (`?sentinelPassword=`); the store then owns the
   * connection (see `close`).
   */
  url?: string | undefined
  /** Or an `ioredis` client — a `Redis` (one server or Sentinel) or a `Cluster` — shared with the application (never closed by the store). */
  client?: Redis | Cluster | undefined
  /** Prefix of every key. Default `fastify-oidc:`. */
  prefix?: string | undefined
  /** Lifetime of a session without a cookie expiry, and of tombstones, milliseconds. Default 8 hours. */
  ttl?: number | undefined
  /** Milliseconds a command may take before it fails (the request then answers 503). Default 2000. */
  commandTimeout?: number | undefined
}

/** How often a waiting `lock` tries again, milliseconds. */
const LOCK_POLL_MS = 25

/** Writes a session unless it was destroyed (a tombstone exists): a slow request cannot bring a logged-out session back, on any instance. */
const SET_UNLESS_DESTROYED = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`
/**
 * Adds ARGV[1] to the counter KEYS[1] and returns its count and milliseconds
 * left, in one round trip: the window of ARGV[2] ms starts with the first
 * increment; taking back (ARGV[1] <= 0) from a counter that is gone starts nothing.
 */
const COUNT = `
local by = tonumber(ARGV[1])
if by <= 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local count = redis.call('INCRBY', KEYS[1], by)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {count, redis.call('PTTL', KEYS[1])}`
/** Deletes a lock only for its holder. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * A `@fastify/session` store in Redis, shared by every instance of the app
 * (built on `ioredis`). Each session expires with it (its cookie's expiry, or
 * its idle deadline); it holds only what the plugin stores — the sealed token
 * set — so a dump shows no token, claim or e-mail. A destroyed session leaves
 * a tombstone for its lifetime, so no instance can write it back. It also keeps
 * the back-channel logout index, the replay cache and the refresh locks.
 *
 * Commands fail fast while Redis is unreachable (no offline queue; a time-out
 * per command), so requests answer 503 instead of hanging, and the client
 * reconnects by itself.
 *
 * Keys are hash-tagged (`<prefix>{<id>}:<kind>`), so it also runs on a Redis
 * Cluster (`redis+cluster://` or a `Cluster` client) and behind Sentinel
 * (`redis+sentinel://…/<master-name>` or a Sentinel-configured `Redis` client).
 *
 * @example
 * await app.register(fastifyOidc, { sessionStore: new RedisStore({ url: 'redis://127.0.0.1:6379' }) })
 * // a Cluster client of the app's own (waited for at register()); the slot map reload and the
 * // command time-out let it follow a failover away from a master that went silent:
 * const client = new Cluster([{ host: 'redis-0', port: 6379 }],
 *   { enableOfflineQueue: false, slotsRefreshInterval: 5000, redisOptions: { commandTimeout: 2000 } })
 * await app.register(fastifyOidc, { sessionStore: new RedisStore({ client, prefix: 'shop:' }) })
 */
export class RedisStore implements SessionStore, SessionStoreCapabilities {
  readonly client: Redis | Cluster
  readonly #owned: boolean
  readonly #prefix: string
  readonly #ttl: number

  constructor (options: RedisStoreOptions) {
    this.#prefix = options.prefix ?? 'fastify-oidc:'
    this.#ttl = options.ttl ?? 8 * 3600 * 1000
    if (options.client !== undefined) {
      this.client = options.client
      this.#owned = false
    } else {
      const url = options.url ?? 'redis://127.0.0.1:6379'
      const target = parseRedisUrl(url)
      if (target === undefined) throw new TypeError('RedisStore: url is not a redis://, rediss://, redis+cluster:// or redis+sentinel:// URL')
      this.client = createRedisClient(target, { commandTimeout: options.commandTimeout ?? 2000 })
      this.#owned = true
      // Connection errors surface as failed commands (503); the client keeps reconnecting.
      this.client.on('error', () => {})
    }
  }

  /**
   * Resolves `true` once connected (a Cluster: once its slot map is loaded), or
   * `false` after `timeoutMs` (commands then fail with 503 until Redis answers).
   * The plugin awaits it at `register()` for every `RedisStore`, also one built on
   * the app's own client (a `lazyConnect` client is connected here).
   */
  async ready (timeoutMs = 2000): Promise<boolean> {
    if (this.client.status === 'ready') return true
    let resolveReady!: (value: boolean) => void
    const ready = new Promise<boolean>((resolve) => { resolveReady = resolve })
    const onReady = (): void => resolveReady(true)
    this.client.once('ready', onReady)
    // A client made with `lazyConnect` connects now, not on the first request.
    if (this.client.status === 'wait') this.client.connect().catch(() => {})
    const timer = new AbortController()
    try {
      return await Promise.race([ready, sleep(timeoutMs, false, { signal: timer.signal })])
    } finally {
      timer.abort()
      this.client.off('ready', onReady)
    }
  }

  /** Closes the connection the store opened (a client passed in is left alone). */
  async close (): Promise<void> {
    if (this.#owned) this.client.disconnect()
  }

  /**
   * The key of `kind` for `id`, hash-tagged by `id` (`<prefix>{<id>}:<kind>`):
   * the keys that one command, script or MULTI touches together (a session and
   * its tombstone) share a Cluster slot, while different ids spread over slots.
   */
  #key (kind: string, id: string): string {
    return `${this.#prefix}{${id}}:${kind}`
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    const ttl = Math.ceil(expiryOf(session, this.#ttl) - Date.now())
    const key = this.#key('sess', sessionId)
    const done = ttl <= 0
      ? this.client.del(key)
      : this.client.eval(SET_UNLESS_DESTROYED, 2, key, this.#key('gone', sessionId), JSON.stringify(session), ttl)
    done.then(() => callback(), callback)
  }

  get (sessionId: string, callback: GetCallback): void {
    this.client.get(this.#key('sess', sessionId)).then((value) => {
      callback(null, value === null ? null : parseSession(value))
    }, callback)
  }

  destroy (sessionId: string, callback: Callback): void {
    this.client.multi()
      .del(this.#key('sess', sessionId))
      .set(this.#key('gone', sessionId), '1', 'PX', this.#ttl)
      .exec()
      .then(() => callback(), callback)
  }

  async link (sessionId: string, keys: readonly string[], ttlMs: number): Promise<void> {
    // One index set per MULTI: each set is its own slot in a Cluster.
    await Promise.all(keys.map(async (key) => {
      const name = this.#key('idx', key)
      await this.client.multi().sadd(name, sessionId).pexpire(name, ttlMs).exec()
    }))
  }

  async members (key: string): Promise<string[]> {
    return await this.client.smembers(this.#key('idx', key))
  }

  async claimOnce (key: string, ttlMs: number): Promise<boolean> {
    return await this.client.set(this.#key('once', key), '1', 'PX', ttlMs, 'NX') === 'OK'
  }

  async count (key: string, by: number, windowMs: number): Promise<{ count: number, resetMs: number }> {
    const [count, resetMs] = await this.client.eval(COUNT, 1, this.#key('count', key), by, windowMs) as [number, number]
    return { count, resetMs }
  }

  async lock (key: string, ttlMs: number, waitMs: number): Promise<(() => Promise<void>) | null> {
    const name = this.#key('lock', key)
    const holder = randomUUID()
    const deadline = Date.now() + waitMs
    while (await this.client.set(name, holder, 'PX', ttlMs, 'NX') !== 'OK') {
      if (Date.now() >= deadline) return null
      await sleep(LOCK_POLL_MS)
    }
    return async () => { await this.client.eval(RELEASE, 1, name, holder) }
  }
}

/** A stored session, or `null` for a value that is not one (never a crash on a foreign key). */
function parseSession (value: string): Session | null {
  try {
    // Only a plain JSON object is a session (not null, an array, a number or a string).
    const session: unknown = JSON.parse(value)
    return Object.prototype.toString.call(session) === '[object Object]' ? session as Session : null
  } catch {
    return null
  }
}
