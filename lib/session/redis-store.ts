import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'
import { Redis, type RedisOptions } from 'ioredis'
import { expiryOf, type SessionStoreCapabilities } from './store.js'

type Callback = (err?: unknown) => void
type GetCallback = (err: unknown, session?: Session | null) => void

export interface RedisStoreOptions {
  /** A `redis://` or `rediss://` URL; the store then owns the connection (see `close`). */
  url?: string
  /** Or a connected `ioredis` client, shared with the application (never closed by the store). */
  client?: Redis
  /** Prefix of every key. Default `fastify-oidc:`. */
  prefix?: string
  /** Lifetime of a session without a cookie expiry, and of tombstones, milliseconds. Default 8 hours. */
  ttl?: number
  /** Milliseconds a command may take before it fails (the request then answers 503). Default 2000. */
  commandTimeout?: number
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
 * @example
 * await app.register(fastifyOidc, { sessionStore: new RedisStore({ url: 'redis://127.0.0.1:6379' }) })
 */
export class RedisStore implements SessionStore, SessionStoreCapabilities {
  readonly client: Redis
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
      const settings: RedisOptions = {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeout ?? 2000,
        connectTimeout: options.commandTimeout ?? 2000,
        retryStrategy: (attempt) => Math.min(attempt * 100, 2000)
      }
      this.client = new Redis(options.url ?? 'redis://127.0.0.1:6379', settings)
      this.#owned = true
      // Connection errors surface as failed commands (503); the client keeps reconnecting.
      this.client.on('error', () => {})
    }
  }

  /** Resolves once connected, or after `timeoutMs` (commands fail with 503 until Redis answers). */
  async ready (timeoutMs = 2000): Promise<boolean> {
    if (this.client.status === 'ready') return true
    const ready = new Promise<boolean>((resolve) => this.client.once('ready', () => resolve(true)))
    return await Promise.race([ready, sleep(timeoutMs, false)])
  }

  /** Closes the connection the store opened (a client passed in is left alone). */
  async close (): Promise<void> {
    if (this.#owned) this.client.disconnect()
  }

  #key (kind: string, id: string): string {
    return `${this.#prefix}${kind}:${id}`
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
    const batch = this.client.multi()
    for (const key of keys) batch.sadd(this.#key('idx', key), sessionId).pexpire(this.#key('idx', key), ttlMs)
    await batch.exec()
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
