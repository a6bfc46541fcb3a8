// How the session guard's cost grows with the number of live sessions in its
// store (issue 15): per store (memory, Redis) one fastify-oidc requireAuth server
// per count N, each logged in once for real through a dev IdP of its own and its
// session then copied N - 1 times by the bench-only mint route
// (bench/servers/mint-sessions.ts), so that the store holds N sessions. The
// requests rotate over the N cookies (autocannon setupRequest: each request
// carries the next one), the counts of a store are measured in interleaved
// rounds. Reported with each count: the server's RSS (memory store) or its
// Redis's used_memory (a redis-server of its own per count: only its sessions),
// and the store writes of the load rounds (all read-only: target 0).
import { Redis } from 'ioredis'
import { freePort } from '../test/helpers/provider.js'
import { browserLogin, startFixture, SUB, type Fixture } from './fixture.js'
import { startInProcess, startServer, type ChildRuntime, type ServerChild } from './harness.js'
import { load, type LoadResult } from './load.js'
import { MINT_ROUTE } from './servers/mint-sessions.js'
import { expectedBody, ROUTE, type RowDef, type ServerSpec, type StoreWrites } from './spec.js'

export type GrowthStore = 'memory' | 'redis'

export interface SessionGrowthResult {
  store: GrowthStore
  sessions: number
  rounds: LoadResult[]
  /** Bytes after the last round: the server's RSS (memory store), its Redis's used_memory (Redis store). */
  memory: number
  /** What the load rounds wrote to the store (every kind together; target 0). */
  writes: number
}

/** A Redis of the growth table's own for one count (e.g. a private redis-server), stopped when that store's part is over. */
export interface GrowthRedis {
  url: string
  stop: () => Promise<void>
}

export interface SessionGrowthOptions {
  runtime: ChildRuntime | 'in-process'
  counts: number[]
  /** Starts a Redis for one count; without it, only the memory store is measured. */
  redis?: (() => Promise<GrowthRedis>) | undefined
  rounds: number
  seconds: number
  /** Seconds of warm-up per server (0: none). */
  warmup: number
  connections: number
  log?: ((line: string) => void) | undefined
  /** Called with each server's base URL and its cookies once its sessions are minted and checked (the tests look closer). */
  inspect?: ((base: string, cookies: Array<Record<string, string>>) => Promise<void>) | undefined
}

export interface SessionGrowth {
  results: SessionGrowthResult[]
  /** Why a store's part did not run. */
  skipped: string[]
}

interface GrowthServer {
  store: GrowthStore
  sessions: number
  child: ServerChild
  redis: GrowthRedis | undefined
  cookies: Array<Record<string, string>>
  results: LoadResult[]
}

/** A Redis for a count could not be started (e.g. no redis-server on this machine): that store's table is skipped. */
class NoRedis extends Error {}

const totalWrites = (w: StoreWrites | null): number => w === null ? 0 : w.set + w.destroy + w.link + w.claimOnce

/** Redis's `used_memory`, bytes. */
export async function usedMemory (url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    return Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1] ?? Number.NaN)
  } finally {
    client.disconnect()
  }
}

/** Evenly spread cookies (the first and the last among them): each must be let in. */
function sample<T> (all: T[], most = 64): T[] {
  const step = Math.max(1, Math.floor(all.length / most))
  return [...all.filter((_, i) => i % step === 0), all.at(-1)!]
}

async function verify (server: GrowthServer, url: string): Promise<void> {
  const label = `session growth, ${server.store} store, ${server.sessions} sessions`
  if (new Set(server.cookies.map((c) => c['cookie'])).size !== server.sessions) throw new Error(`${label}: not ${server.sessions} distinct cookies`)
  for (const headers of sample(server.cookies)) {
    const res = await fetch(url, { headers, redirect: 'manual' })
    const body = await res.text()
    if (res.status !== 200 || body !== expectedBody(SUB)) throw new Error(`${label}: a minted cookie got ${res.status} ${body.slice(0, 200)}`)
  }
  const without = await fetch(url, { redirect: 'manual' })
  await without.arrayBuffer()
  if (without.status !== 401 && without.status !== 302) throw new Error(`${label}: without a cookie it answered ${without.status}`)
}

/** Starts one store's servers (one per count), logs each in and mints its sessions. */
async function startGroup (store: GrowthStore, fixture: Fixture, ports: Map<string, number>, options: SessionGrowthOptions, servers: GrowthServer[]): Promise<void> {
  const { runtime, counts, log = () => {} } = options
  for (const sessions of counts) {
    const redis = store === 'redis' ? await options.redis!().catch((err: unknown) => { throw new NoRedis(String((err as Error).message)) }) : undefined
    const id = `${store}×${sessions}`
    const row: RowDef = { id, label: `requireAuth, ${store} store, ${sessions} sessions`, kind: 'oidc', credential: 'login-oidc' }
    const spec: ServerSpec = {
      kind: 'oidc',
      port: ports.get(id)!,
      sub: SUB,
      issuer: fixture.idp.issuer,
      clientId: `bench-growth-${store}-${sessions}`,
      clientSecret: fixture.clientSecret,
      sessionSecret: fixture.sessionSecret,
      sessionStore: redis?.url ?? 'memory',
      // The default bound (10,000), raised to hold every session.
      memoryStoreMax: Math.max(10_000, sessions),
      mintSessions: true
    }
    const started = runtime === 'in-process' ? await startInProcess(row, spec) : await startServer(row, spec, runtime, ['--expose-gc'])
    if ('failed' in started) {
      await redis?.stop()
      throw new Error(`session growth server (${store}, ${sessions}) did not start: ${started.failed}`)
    }
    const server: GrowthServer = { store, sessions, child: started, redis, cookies: [], results: [] }
    servers.push(server)
    const cookie = await browserLogin(`${started.base}/auth/login`, (name) => name === 'oidc.sid')
    const began = Date.now()
    const res = await fetch(`${started.base}${MINT_ROUTE}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ count: sessions - 1 }) })
    if (res.status !== 200) throw new Error(`session growth (${store}, ${sessions}): the mint route answered ${res.status} ${(await res.text()).slice(0, 200)}`)
    const { cookies } = await res.json() as { cookies: string[] }
    server.cookies = [cookie, ...cookies].map((c) => ({ cookie: c }))
    log(`session growth, ${store} store: ${sessions} sessions in the store (${sessions - 1} minted in ${((Date.now() - began) / 1000).toFixed(1)} s)`)
    await verify(server, `${started.base}${ROUTE}`)
    await options.inspect?.(started.base, server.cookies)
  }
}

/** Measures one store's counts in interleaved rounds; the servers (and Redis) stop at the end. */
async function measureGroup (store: GrowthStore, fixture: Fixture, ports: Map<string, number>, options: SessionGrowthOptions): Promise<SessionGrowthResult[]> {
  const { rounds, seconds, warmup, connections, log = () => {} } = options
  const servers: GrowthServer[] = []
  const url = (s: GrowthServer): string => `${s.child.base}${ROUTE}`
  try {
    await startGroup(store, fixture, ports, options, servers)
    const before = await Promise.all(servers.map(async (s) => await s.child.writes()))
    if (warmup > 0) for (const s of servers) await load({ url: url(s), headers: {}, rotate: s.cookies, seconds: warmup, connections })
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const s = servers[(i + round) % servers.length]!
        const result = await load({ url: url(s), headers: {}, rotate: s.cookies, seconds, connections })
        s.results.push(result)
        log(`session growth, ${store} store, round ${round + 1}, ${s.sessions} sessions: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms` +
          (result.non2xx + result.errors > 0 ? `, ${result.non2xx} non-2xx, ${result.errors} errors` : ''))
      }
    }
    const out: SessionGrowthResult[] = []
    for (const [i, s] of servers.entries()) {
      out.push({
        store,
        sessions: s.sessions,
        rounds: s.results,
        memory: s.redis === undefined ? await s.child.rss() : await usedMemory(s.redis.url),
        writes: totalWrites(await s.child.writes()) - totalWrites(before[i]!)
      })
    }
    return out
  } finally {
    await Promise.all(servers.map(async (s) => await s.child.close()))
    await Promise.all(servers.map(async (s) => await s.redis?.stop()))
  }
}

export async function sessionGrowth (options: SessionGrowthOptions): Promise<SessionGrowth> {
  const { counts, log = () => {} } = options
  const stores: GrowthStore[] = options.redis === undefined ? ['memory'] : ['memory', 'redis']
  const ports = new Map<string, number>()
  for (const store of stores) for (const n of counts) ports.set(`${store}×${n}`, await freePort())
  const fixture = await startFixture(stores.flatMap((store) => counts.map((n) => {
    const base = `http://127.0.0.1:${ports.get(`${store}×${n}`)}`
    return { client_id: `bench-growth-${store}-${n}`, redirect_uris: [`${base}/auth/callback`], post_logout_redirect_uris: [`${base}/`] }
  })))
  const results: SessionGrowthResult[] = []
  const skipped: string[] = []
  try {
    for (const store of stores) {
      try {
        results.push(...await measureGroup(store, fixture, ports, options))
      } catch (err) {
        // Redis may be missing on this machine: the memory table still stands. Any other failure is the bench's own.
        if (!(err instanceof NoRedis)) throw err
        skipped.push(`Redis store: ${(err as Error).message}`)
        log(`session growth, Redis store skipped: ${(err as Error).message}`)
      }
    }
    return { results, skipped }
  } finally {
    await fixture.close()
  }
}
