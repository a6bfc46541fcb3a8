// `npm run bench`: side-by-side throughput of fastify-oidc's guards against a
// bare Fastify route and the peers a user would pick instead, then the size and
// memory of a session. Every server runs in its own child process on loopback;
// autocannon drives it from this process. Rows are warmed up, then measured in
// interleaved rounds (each round visits every row, starting one row later than
// the round before) so that drift of the machine hits every row alike. Only
// ratios within one run mean something on a shared machine.
//
// Environment: BENCH_DURATION (seconds per round per row, default 5),
// BENCH_WARMUP (seconds, default 2), BENCH_ROUNDS (default 3),
// BENCH_CONNECTIONS (default 10), BENCH_ROWS (e.g. "1,2,3"), BENCH_SIZES=0
// (skip the size/memory part), BENCH_PROFILE (row ids whose server runs with
// --cpu-prof; profiles go to BENCH_PROFILE_DIR, default <tmp>/fastify-oidc-bench-profiles),
// BENCH_REDIS_URL (row 4, default redis://127.0.0.1:6379), BENCH_REDIS_CLUSTER_URL
// (row 4c, default: a 3-master cluster started for the run), BENCH_TSX=1 (run the
// servers from the TypeScript sources through tsx instead of compiling them first),
// BENCH_GROWTH=0 (skip the bearer growth table), BENCH_GROWTH_TOKENS (its counts of
// distinct tokens in rotation, default 1,1000,100000), BENCH_SESSION_GROWTH=0 (skip the
// session growth tables), BENCH_SESSION_GROWTH_COUNTS (their counts of live sessions,
// default 1000,10000,100000; the Redis table needs redis-server on PATH).
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileServers, prepareRows, TSX_RUNTIME, writesBetween } from './harness.js'
import { load } from './load.js'
import { bearerGrowth, type GrowthResult } from './growth.js'
import { addWrites, anchorLine, anomalies, downstreamLines, dpopLines, growthTable, noWrites, referenceLines, rssTable, sessionGrowthAnomalies, sessionGrowthTable, sizeTable, targetLines, targets, throughputTable, writesTable, type RowReport } from './report.js'
import { sessionGrowth, type SessionGrowth } from './session-growth.js'
import { measureSession, storeRss, type SessionSample } from './sizes.js'
import { REDIS_CLUSTER_URL, ROWS, type StoreWrites } from './spec.js'
import { privateRedis } from '../test/helpers/redis.js'
import { startCluster } from '../test/helpers/redis-servers.js'
import type { StoreRssResult } from './store-rss.js'

function setting (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: expected a positive number, got ${JSON.stringify(raw)}`)
  return value
}
const ids = (name: string): string[] | undefined => process.env[name]?.split(',').map((s) => s.trim()).filter((s) => s !== '')

const seconds = setting('BENCH_DURATION', 5)
const warmup = setting('BENCH_WARMUP', 2)
const rounds = setting('BENCH_ROUNDS', 3)
const connections = setting('BENCH_CONNECTIONS', 10)
const only = ids('BENCH_ROWS')
const profiled = new Set(ids('BENCH_PROFILE') ?? [])
const profileDir = process.env['BENCH_PROFILE_DIR'] ?? join(tmpdir(), 'fastify-oidc-bench-profiles')
const withSizes = process.env['BENCH_SIZES'] !== '0'
const growthCounts = (ids('BENCH_GROWTH_TOKENS') ?? ['1', '1000', '100000']).map(Number).filter((n) => Number.isInteger(n) && n > 0)
const sessionCounts = (ids('BENCH_SESSION_GROWTH_COUNTS') ?? ['1000', '10000', '100000']).map(Number).filter((n) => Number.isInteger(n) && n > 0)
let rows = ROWS.filter((row) => only === undefined || only.includes(row.id))

const started = Date.now()
const log = (line: string): void => { console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`) }

function cpuModel (): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'))
    if (line !== undefined) return line.split(':')[1]!.trim()
  } catch {}
  return cpus()[0]?.model ?? 'unknown'
}

const loadAverage = (): string => loadavg().map((l) => l.toFixed(1)).join(' ')
const machine = `${availableParallelism()} cores (nproc), ${cpuModel()}, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)}`
const loadAtStart = loadAverage()
log(`machine: ${machine}`)
log(`${rows.length} rows, ${warmup} s warm-up, ${rounds} rounds of ${seconds} s per row, ${connections} connections`)

let runtime = TSX_RUNTIME
if (process.env['BENCH_TSX'] !== '1') {
  log('compiling the servers and the library with tsc (bench/tsconfig.json)')
  runtime = await compileServers()
}
// Row 4c: a local 3-master Redis Cluster for the run unless BENCH_REDIS_CLUSTER_URL names one.
const stops: Array<() => unknown> = []
process.once('exit', () => { stops.reverse().forEach((stop) => { stop() }) })
if (process.env['BENCH_REDIS_CLUSTER_URL'] === undefined && rows.some((row) => row.sessionStore === REDIS_CLUSTER_URL)) {
  log('starting a 3-master Redis Cluster for row 4c')
  const cluster = await startCluster({ teardown: (fn) => stops.push(fn) })
  rows = rows.map((row) => row.sessionStore === REDIS_CLUSTER_URL ? { ...row, sessionStore: cluster.url } : row)
}
const prepared = await prepareRows({
  rows,
  runtime,
  sequential: true,
  sizeProbe: withSizes,
  nodeArgs: (row) => profiled.has(row.id) ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=row-${row.id}.cpuprofile`] : [],
  log
})
const onSignal = (): void => { prepared.close().finally(() => process.exit(130)) }
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

let reports: RowReport[]
let growth: GrowthResult[] = []
let sessions: SessionGrowth | undefined
let sample: SessionSample | undefined
let downstreamSeen = ''
const memory: StoreRssResult[] = []
try {
  for (const row of prepared.rows) {
    log(`warm-up row ${row.row.id}`)
    await load({ url: row.url, headers: row.headers, seconds: warmup, connections })
  }
  const results = new Map(prepared.rows.map((row) => [row.row.id, [] as Awaited<ReturnType<typeof load>>[]]))
  const readWrites = new Map<string, { writes: StoreWrites, requests: number }>()
  for (let round = 0; round < rounds; round++) {
    const order = prepared.rows.map((_, i) => prepared.rows[(i + round) % prepared.rows.length]!)
    for (const row of order) {
      const before = await row.writes()
      const result = await load({ url: row.url, headers: row.headers, seconds, connections })
      const after = await row.writes()
      results.get(row.row.id)!.push(result)
      if (before !== null && after !== null) {
        const sum = readWrites.get(row.row.id) ?? { writes: noWrites(), requests: 0 }
        readWrites.set(row.row.id, { writes: addWrites(sum.writes, writesBetween(before, after)), requests: sum.requests + result.requests })
      }
      log(`round ${round + 1}, row ${row.row.id}: ${Math.round(result.rps)} req/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms`)
    }
  }
  reports = []
  for (const row of prepared.rows) {
    reports.push({
      row: row.row,
      rounds: results.get(row.row.id)!,
      rss: await row.rss(),
      loginWrites: row.loginWrites,
      readWrites: readWrites.get(row.row.id),
      credentialBytes: Object.values(row.headers).reduce((n, v) => n + v.length, 0)
    })
  }
  await prepared.closeServers()
  downstreamSeen = downstreamLines(prepared.rows.map((r) => r.row), prepared.fixture.downstreams)
  if (profiled.size > 0) log(`CPU profiles of rows ${[...profiled].join(', ')} written to ${profileDir}`)

  if (withSizes && prepared.sizeProbe !== undefined) {
    log('session size: a real login into an in-process fastify-oidc app')
    sample = await measureSession(prepared.fixture, prepared.sizeProbe)
    for (const sessions of [10_000, 100_000]) {
      for (const kind of ['sealed', 'plain'] as const) {
        log(`store RSS: ${sessions} sessions, ${kind}, in a child process`)
        memory.push(await storeRss({ kind, sessions, snapshot: sample.snapshot, payload: sample.payload, sessionSecret: prepared.fixture.sessionSecret }, runtime))
      }
    }
  }
  if (process.env['BENCH_GROWTH'] !== '0' && growthCounts.length > 0) {
    growth = await bearerGrowth({ fixture: prepared.fixture, runtime, counts: growthCounts, rounds, seconds, warmup, connections, log })
  }
  if (process.env['BENCH_SESSION_GROWTH'] !== '0' && sessionCounts.length > 0) {
    // A redis-server of its own per count: its used_memory and its keyspace are that count's sessions alone.
    const redis = async (): Promise<{ url: string, stop: () => Promise<void> }> => await privateRedis({ teardown: (fn) => stops.push(fn) })
    sessions = await sessionGrowth({ runtime, counts: sessionCounts, redis, rounds, seconds, warmup, connections, log })
  }
} finally {
  await prepared.close()
  for (const stop of stops.splice(0).reverse()) await stop()
}

const out: string[] = []
out.push(`Machine: ${machine}; load average (1, 5, 15 min) ${loadAtStart} at the start, ${loadAverage()} at the end. ${warmup} s warm-up, then ${rounds} interleaved rounds of ${seconds} s per row, ` +
  `${connections} connections, autocannon in the orchestrating process, each server in its own process (${runtime.ext === '.js' ? 'compiled with tsc, plain node' : 'TypeScript through tsx'}).`, '')
out.push(throughputTable(reports, prepared.skipped), '')
const storeWrites = writesTable(reports)
if (storeWrites !== '') out.push('Session-store writes (counted in the server: the login through the dev IdP, then every request of the load rounds, all read-only):', storeWrites, '')
for (const { row, reason } of prepared.skipped) out.push(`Row ${row.id} skipped: ${reason}`, '')
const odd = anomalies(reports)
if (odd.length > 0) out.push('Anomalies (the guard refused requests during load, or connections failed):', ...odd.map((l) => `- ${l}`), '')
if (sample !== undefined) {
  const cookieOf = (id: string, label: string): Array<{ label: string, bytes: number }> => {
    const report = reports.find((r) => r.row.id === id)
    return report === undefined ? [] : [{ label, bytes: report.credentialBytes }]
  }
  out.push(sizeTable(sample.sizes, [
    ...cookieOf('3', 'fastify-oidc (signed session id)'),
    ...cookieOf('2', '@fastify/session (signed session id)'),
    ...cookieOf('5', 'express-openid-connect appSession (encrypted token set)'),
    ...cookieOf('6', '@fastify/secure-session (encrypted token set)'),
    ...cookieOf('7', 'Authorization: Bearer, RS256 access token')
  ]), '')
  out.push(rssTable(memory), '')
}
if (growth.length > 0) {
  out.push('Bearer guard (RS256, default cache of verified tokens) by distinct tokens in rotation (issue 15):', growthTable(growth), '')
}
if (sessions !== undefined) {
  const rotating = 'each request carrying the next session\'s cookie, one server per count, interleaved rounds'
  out.push(`Session guard (requireAuth, memory store) by live sessions in the store, ${rotating} (issue 15):`, sessionGrowthTable(sessions.results, 'memory'), '')
  if (sessions.results.some((r) => r.store === 'redis')) {
    out.push(`Session guard (requireAuth, Redis store: a redis-server of its own per count) by live sessions in the store, ${rotating}:`, sessionGrowthTable(sessions.results, 'redis'), '')
  }
  for (const reason of sessions.skipped) out.push(`Session growth skipped: ${reason}`, '')
  const odd = sessionGrowthAnomalies(sessions.results)
  if (odd.length > 0) out.push('Session growth anomalies (these figures do not measure what they say):', ...odd.map((l) => `- ${l}`), '')
}
out.push('Targets (issue 15; the ratio of the medians, then the lowest and highest ratio of one round to the same round):', targetLines(targets(reports, sample?.sizes)), '')
const dpop = dpopLines(reports)
if (dpop !== '') out.push('DPoP (issue 17: the cost of a DPoP-protected downstream call beside the bearer one; the ratio of the medians, then of one round to the same round; reported, no target):', dpop, '')
if (downstreamSeen !== '') out.push('What the downstreams of the fetch rows were sent (the verification, the warm-up and every round):', downstreamSeen, '')
const anchor = anchorLine(reports)
if (anchor !== '') out.push('Anchor (reported, no target):', anchor, '')
const references = referenceLines(reports)
if (references !== '') out.push('Reference rows (not in the issue, not targets):', references, '')
console.log(out.join('\n'))
log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`)
