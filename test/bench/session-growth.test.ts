// The session growth tables of `npm run bench` (bench/session-growth.ts), run
// here with tiny counts and one short round, the servers in this process (no
// timing is asserted): every minted cookie is a distinct logged-in session the
// guard lets in, each count's store really holds that many sessions, the
// rotated load is all 2xx and writes nothing, and the report flags what is not.
import t from 'tap'
import { Redis } from 'ioredis'
import { SUB } from '../../bench/fixture.js'
import { sessionGrowthAnomalies, sessionGrowthTable } from '../../bench/report.js'
import { sessionGrowth, type GrowthRedis, type SessionGrowthResult } from '../../bench/session-growth.js'
import { expectedBody } from '../../bench/spec.js'
import { privateRedis } from '../helpers/redis.js'

const COUNTS = [4, 25]

/** Session entries (not index sets, not tombstones) in a Redis. */
async function sessionKeys (url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    return (await client.keys('fastify-oidc:{*}:sess')).length
  } finally {
    client.disconnect()
  }
}

t.test('a row per store and count, every rotated cookie let in, no store write, each Redis holding its count of sessions', async (t) => {
  const held: number[] = []
  const redis = async (): Promise<GrowthRedis> => {
    const server = await privateRedis(t)
    // Counted when the table is done with this Redis (after its rounds).
    return { url: server.url, stop: async () => { held.push(await sessionKeys(server.url)); await server.stop() } }
  }
  const { results, skipped } = await sessionGrowth({ runtime: 'in-process', counts: COUNTS, redis, rounds: 1, seconds: 1, warmup: 0, connections: 2 })

  t.same(skipped, [], 'both stores measured')
  t.same(results.map((r) => [r.store, r.sessions]), [['memory', 4], ['memory', 25], ['redis', 4], ['redis', 25]], 'a row per store and count')
  for (const r of results) {
    t.equal(r.rounds.length, 1, `${r.store} ${r.sessions}: one round`)
    t.ok(r.rounds[0]!.requests > 0, `${r.store} ${r.sessions}: requests were made`)
    t.equal(r.rounds[0]!.non2xx, 0, `${r.store} ${r.sessions}: every rotated cookie let in`)
    t.equal(r.rounds[0]!.errors, 0, `${r.store} ${r.sessions}: no connection error`)
    t.equal(r.writes, 0, `${r.store} ${r.sessions}: the read-only rounds wrote nothing to the store`)
    t.ok(r.memory > 0, `${r.store} ${r.sessions}: a memory figure`)
  }
  t.same(held.sort((a, b) => a - b), COUNTS, 'each Redis holds exactly its count of sessions')
  t.same(sessionGrowthAnomalies(results), [], 'nothing to flag')
})

t.test('the minted cookies are distinct logged-in sessions; a changed one is refused', async (t) => {
  // One store, one count, no rounds worth timing: the cookies are checked one by one through the guard.
  let cookies: string[] = []
  const { results } = await sessionGrowth({
    runtime: 'in-process',
    counts: [30],
    rounds: 1,
    seconds: 1,
    warmup: 0,
    connections: 1,
    inspect: async (base, rotated) => {
      cookies = rotated.map((c) => c['cookie']!)
      for (const cookie of cookies) {
        const res = await fetch(`${base}/me`, { headers: { cookie } })
        t.equal(`${res.status} ${await res.text()}`, `200 ${expectedBody(SUB)}`, 'a minted cookie is let in as the user')
      }
      const [name, value] = cookies.at(-1)!.split('=') as [string, string]
      const signed = decodeURIComponent(value)
      const forged = `${name}=${encodeURIComponent(`${'A'.repeat(32)}${signed.slice(32)}`)}`
      const refused = await fetch(`${base}/me`, { headers: { cookie: forged } })
      await refused.arrayBuffer()
      t.equal(refused.status, 401, 'a minted cookie whose id is changed is refused')
    }
  })
  t.equal(cookies.length, 30, '30 cookies in rotation')
  t.equal(new Set(cookies).size, 30, 'all distinct')
  t.equal(results[0]?.rounds[0]?.non2xx, 0, 'the rotated load was let in')
})

t.test('the report prints a row per count and flags refused requests and store writes', async (t) => {
  const round = (non2xx: number): SessionGrowthResult['rounds'][number] => ({ rps: 1000, requests: 1000 + non2xx, p50: 1, p99: 2, non2xx, errors: 0 })
  const results: SessionGrowthResult[] = [
    { store: 'memory', sessions: 1000, rounds: [round(0)], memory: 80 * 1024 * 1024, writes: 0 },
    { store: 'memory', sessions: 10_000, rounds: [round(3)], memory: 90 * 1024 * 1024, writes: 0 },
    { store: 'redis', sessions: 1000, rounds: [round(0)], memory: 4 * 1024 * 1024, writes: 2 }
  ]
  const memory = sessionGrowthTable(results, 'memory').split('\n')
  t.equal(memory.length, 4, 'header, rule and one line per count')
  t.match(memory[0], /server RSS after load/)
  t.match(memory[3], /^\| 10,000 \| .* \| 3 \| 90 MB \|$/, 'the count, its non-2xx and its RSS')
  t.match(sessionGrowthTable(results, 'redis'), /Redis used_memory after load[^]*\| 1,000 \| .* \| 0 \| 4 MB \|/)
  const flagged = sessionGrowthAnomalies(results)
  t.equal(flagged.length, 2, 'two counts flagged')
  t.match(flagged[0], /memory store, 10,000 sessions: 3 non-2xx/)
  t.match(flagged[1], /redis store, 1,000 sessions: 2 store writes/)
})
