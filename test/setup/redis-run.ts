// The Redis that one tap run uses. tap runs `before` (test/setup/redis-before.ts)
// once, then each test file, as children of one runner process; the before
// script records the Redis it chose in a file named after that runner's pid,
// and test/helpers/redis.ts reads it back (an environment variable set there
// could not reach the test processes).
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'

export const RUN_DIR = new URL('../../.tap/', import.meta.url)

export interface RedisRun {
  /** The URL the tests use. */
  url: string
  /** Where it came from: REDIS_URL, the default port, or a redis-server started for this run. */
  source: 'REDIS_URL' | 'default' | 'started'
  /** The keeper process that owns the started redis-server (stopped by test/setup/redis-after.ts). */
  keeperPid?: number
}

/** The file that records the Redis of the tap run whose runner has `runnerPid`. */
export function runFile (runnerPid: number): URL {
  return new URL(`redis-run-${runnerPid}.json`, RUN_DIR)
}

/** The Redis recorded for the run of `runnerPid`, if its before script recorded one. */
export function readRun (runnerPid: number): RedisRun | undefined {
  try {
    return JSON.parse(readFileSync(runFile(runnerPid), 'utf8')) as RedisRun
  } catch {
    return undefined
  }
}

/** True when a Redis answers PING at url within about a second. */
export async function answers (url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}
