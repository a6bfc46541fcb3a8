// `npm run bench:replica-wait`: what `WAIT 1 <ms>` would cost the writes that
// must not be lost (a new session, a logout tombstone) on a primary with one
// replica, both started here on loopback. Measures, one after another, N
// writes shaped like the store's (the session script, then the tombstone) with
// and without a WAIT 1 after each, and prints the mean and p99 per write.
// Environment: BENCH_WAIT_WRITES (default 2000), BENCH_WAIT_MS (WAIT's time-out, default 100).
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { startSentinel } from '../test/helpers/redis-servers.js'

const writes = Number(process.env['BENCH_WAIT_WRITES'] ?? 2000)
const waitMs = Number(process.env['BENCH_WAIT_MS'] ?? 100)
const stops: Array<() => unknown> = []
const servers = await startSentinel({ teardown: (fn) => stops.push(fn) })
const client = new Redis({ host: '127.0.0.1', port: servers.primary.port })
const value = 'x'.repeat(1500) // about the size of a sealed session

async function measure (wait: boolean): Promise<{ mean: number, p99: number, acked: number }> {
  const times: number[] = []
  let acked = 0
  for (let i = 0; i < writes; i++) {
    const started = performance.now()
    await client.eval("if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) return 1", 2, `b:{${i}}:sess`, `b:{${i}}:gone`, value)
    if (wait) acked += Number(await client.call('WAIT', '1', String(waitMs)))
    times.push(performance.now() - started)
  }
  times.sort((x, y) => x - y)
  return { mean: times.reduce((a, b) => a + b, 0) / times.length, p99: times[Math.floor(times.length * 0.99)]!, acked }
}

try {
  await measure(false) // warm-up
  const plain = await measure(false)
  const waited = await measure(true)
  console.log(`${writes} session writes, primary + 1 replica on loopback (${process.platform}, Node.js ${process.version})`)
  console.log(`without WAIT:        mean ${plain.mean.toFixed(3)} ms, p99 ${plain.p99.toFixed(3)} ms`)
  console.log(`with WAIT 1 ${waitMs}:    mean ${waited.mean.toFixed(3)} ms, p99 ${waited.p99.toFixed(3)} ms (${waited.acked}/${writes} acknowledged by the replica)`)
  console.log(`ratio: ${(waited.mean / plain.mean).toFixed(2)}x per write`)
} finally {
  client.disconnect()
  for (const stop of stops.reverse()) await stop()
}
