// Issue 11.2: what the Basic throttle counts under. Usernames are normalised
// (Unicode NFKC, lower case), so case and width variants of one name share one
// budget; counter keys are fixed-length keyed hashes, so a client that sends
// huge X-Forwarded-For values (with trustProxy: true) cannot fill the store.
import t from 'tap'
import type { OidcAuthenticate } from '../../lib/index.js'
import { basic, startBasicApp } from '../helpers/basic.js'
import { dump, redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'

t.test('case and width variants of a username share one failure budget (each from another forwarded address)', async (t) => {
  const seen: string[] = []
  const authenticate: OidcAuthenticate = (username) => { seen.push(username); return null }
  const app = await startBasicApp(t, { authenticate, basicMaxFailures: 3, basicFailureWindow: 60, trustProxy: true })
  const variants = ['admin', 'Admin', 'ADMIN', 'aDmIn', 'ＡＤＭＩＮ', 'ａｄｍｉｎ']
  const answers = []
  for (const [i, name] of variants.entries()) {
    answers.push((await app.call('/basic', { authorization: basic(name, 'guess'), 'x-forwarded-for': `203.0.113.${i + 1}` })).status)
  }
  t.same(answers, [401, 401, 401, 429, 429, 429])
  t.same(seen, ['admin', 'Admin', 'ADMIN'], 'authenticate() gets the name as typed, and only three times')
})

t.test('Redis: 100 failures with 14 KB X-Forwarded-For values leave only short, fixed-length keys', async (t) => {
  const prefix = uniquePrefix()
  const app = await startBasicApp(t, { sessionStore: redisStore(t, prefix), trustProxy: true, basicMaxFailures: 1000, basicFailureWindow: 60 })
  for (let batch = 0; batch < 100; batch += 10) {
    const statuses = await Promise.all(Array.from({ length: 10 }, async (_, j) => {
      const forwarded = `${String(batch + j).padStart(3, '0')}${'x'.repeat(14 * 1024)}`
      return (await app.call('/basic', { authorization: basic(`user-${batch + j}`, 'guess'), 'x-forwarded-for': forwarded })).status
    }))
    t.same(statuses, Array(10).fill(401))
  }
  t.equal(app.events.length, 100)
  t.ok(app.events.every((e) => e.ip.length <= 200), 'the audit events carry the forwarded address cut to 200 characters')
  const keys = [...(await dump(await redisClient(t), prefix)).keys()]
  t.equal(keys.filter((k) => k.includes('basic-ip:')).length, 100, 'one counter per address')
  t.equal(keys.filter((k) => k.includes('basic-user:')).length, 100, 'one counter per user')
  for (const kind of ['basic-ip:', 'basic-user:']) {
    t.equal(new Set(keys.filter((k) => k.includes(kind)).map((k) => k.length)).size, 1, `every ${kind} key has the same length`)
  }
  t.ok(keys.every((k) => k.length < prefix.length + 80), 'every key is short')
  t.notOk(keys.some((k) => k.includes('user-') || k.includes('xxx')), 'no username or address in clear')
})
