// Issue 11.13: an outage must not flood the log. With Redis down, N failing
// requests write one error line for the first failure and, per interval, one
// summary line with the count of the others (written at debug level), not N
// error lines.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { OutageLog } from '../lib/outage-log.js'
import { basic, startBasicApp } from './helpers/basic.js'
import { privateRedis, redisStore, uniquePrefix } from './helpers/redis.js'

const errorLines = (logs: string[]): Array<Record<string, unknown>> =>
  logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry['level'] === 50)

t.test('Redis down: 30 failing requests give 1 error line and a summary with the count, not 30 error lines', async (t) => {
  const redis = await privateRedis(t)
  const app = await startBasicApp(t, { sessionStore: redisStore(t, uniquePrefix(), redis.url) })
  await redis.stop()
  for (let i = 0; i < 30; i++) {
    const res = await app.call('/basic', { authorization: basic('alice', 'guess') })
    t.equal(res.status, 503)
    t.equal(res.body.code, 'FST_OIDC_SESSION_STORE_UNAVAILABLE')
  }
  const during = errorLines(app.logs)
  t.equal(during.length, 1, 'one error line during the outage')
  t.match(during[0], { err: { code: 'FST_OIDC_SESSION_STORE_UNAVAILABLE' } })
  t.equal(app.logs.filter((line) => line.includes('FST_OIDC_SESSION_STORE_UNAVAILABLE') && line.includes('"level":20')).length, 29, 'the repeats at debug level')
  await app.app.close()
  const after = errorLines(app.logs)
  t.equal(after.length, 2, 'plus one summary line')
  t.match(after[1], { kind: 'FST_OIDC_SESSION_STORE_UNAVAILABLE', count: 29 })
})

t.test('OutageLog: one summary per interval while failures go on; a quiet interval starts over', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const log = { error: (obj: Record<string, unknown>) => { lines.push(obj) } }
  const outages = new OutageLog(log as never, 100)
  t.teardown(() => outages.close())
  t.equal(outages.report('A'), true, 'the first failure is logged')
  t.equal(outages.report('A'), false)
  t.equal(outages.report('B'), true, 'another kind is logged too')
  t.equal(outages.report('A'), false)
  await sleep(150)
  t.match(lines, [{ kind: 'A', count: 2 }], 'one summary for A; none for B, which did not repeat')
  t.equal(outages.report('B'), true, 'B was quiet for an interval: logged again')
  t.equal(outages.report('A'), false, 'A is still in its outage')
  await sleep(150)
  t.match(lines, [{ kind: 'A', count: 2 }, { kind: 'A', count: 1 }])
  await sleep(150)
  t.equal(outages.report('A'), true, 'after a quiet interval A starts over')
})
