// Redis for the session-store tests: the run's shared server (the one
// test/setup/redis-before.ts chose: REDIS_URL, 127.0.0.1:6379, or a
// redis-server started for the run) with a key prefix per test, or a private
// redis-server on its own port that a test may stop and start again.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { RedisStore } from '../../lib/index.js'
import { readRun } from '../setup/redis-run.js'
import { freePort, type Teardownable } from './provider.js'

/** The shared Redis of this tap run (outside tap: REDIS_URL, else 127.0.0.1:6379). */
export const REDIS_URL = readRun(process.ppid)?.url ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/** A client of the shared Redis, closed at teardown; throws (the test fails) when Redis does not answer. */
export async function redisClient (t: Teardownable, url = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true })
  t.teardown(() => client.disconnect())
  await client.connect()
  await client.ping()
  return client
}

/** A unique key prefix, so tests running side by side count only their own keys. */
export function uniquePrefix (): string {
  return `test-${randomBytes(6).toString('hex')}:`
}

/** A RedisStore on its own prefix, closed at teardown. */
export function redisStore (t: Teardownable, prefix: string, url = REDIS_URL): RedisStore {
  const store = new RedisStore({ url, prefix })
  t.teardown(() => store.close())
  return store
}

/** Every key under `prefix`, with its value (strings, or the members of a set). */
export async function dump (client: Redis, prefix: string): Promise<Map<string, string>> {
  const keys = await client.keys(`${prefix}*`)
  const entries = new Map<string, string>()
  for (const key of keys) {
    const type = await client.type(key)
    entries.set(key, type === 'set' ? (await client.smembers(key)).join(',') : String(await client.get(key)))
  }
  return entries
}

export interface PrivateRedis {
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
}

/** A redis-server of this test's own on a free port (stopped at teardown), so stopping it disturbs no other test. */
export async function privateRedis (t: Teardownable): Promise<PrivateRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        return
      } catch {
        await sleep(50)
      }
    }
    throw new Error(`redis-server did not start on ${url}`)
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  await start()
  t.teardown(stop)
  return { url, stop, start }
}
