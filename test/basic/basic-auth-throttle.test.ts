// Throttling of failed Basic logins: after N failures in the window, per
// username and per client IP, 429 with Retry-After — the same for an unknown
// user (no enumeration) and even with the right password — and recovery once
// the window has passed. With Redis, the counters are shared by every instance
// and hold no username in clear.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { basic, startBasicApp, USERS } from '../helpers/basic.js'
import { dump, redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'

const right = basic('alice', USERS.alice.password)
const wrong = basic('alice', 'guess')

t.test('three failures for a username: 429 with Retry-After, even with the right password; recovery after the window', async (t) => {
  const app = await startBasicApp(t, { basicMaxFailures: 3, basicFailureWindow: 2 })
  for (let i = 0; i < 3; i++) t.equal((await app.call('/basic', { authorization: wrong })).status, 401)
  const blocked = await app.call('/basic', { authorization: right })
  t.equal(blocked.status, 429)
  t.equal(blocked.body.code, 'FST_OIDC_BASIC_THROTTLED')
  const retryAfter = Number(blocked.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`)
  t.match(app.events.at(-1), { type: 'basic_auth_failure', reason: 'throttled', username: 'alice' })
  await sleep(2100)
  t.equal((await app.call('/basic', { authorization: right })).status, 200, 'the window passed')
})

t.test('an unknown user is throttled the same way (no enumeration)', async (t) => {
  const answers = []
  for (const user of ['alice', 'nobody']) {
    const app = await startBasicApp(t, { basicMaxFailures: 2, basicFailureWindow: 60 })
    for (let i = 0; i < 3; i++) {
      const res = await app.call('/basic', { authorization: basic(user, 'guess') })
      answers.push([res.status, res.body.code, res.headers.get('www-authenticate')])
    }
  }
  t.same(answers.slice(0, 3), answers.slice(3), 'the same answers for a known and an unknown user')
  t.same(answers.map(([status, code]) => [status, code]), [
    [401, 'FST_OIDC_UNAUTHENTICATED'], [401, 'FST_OIDC_UNAUTHENTICATED'], [429, 'FST_OIDC_BASIC_THROTTLED'],
    [401, 'FST_OIDC_UNAUTHENTICATED'], [401, 'FST_OIDC_UNAUTHENTICATED'], [429, 'FST_OIDC_BASIC_THROTTLED']
  ])
})

t.test('failures from one client IP across usernames throttle that IP', async (t) => {
  const app = await startBasicApp(t, { basicMaxFailures: 3, basicFailureWindow: 60 })
  for (const user of ['u1', 'u2', 'u3']) t.equal((await app.call('/basic', { authorization: basic(user, 'x') })).status, 401)
  t.equal((await app.call('/basic', { authorization: right })).status, 429, 'a fourth username from the same IP')
})

t.test('with Redis the counters are shared by two instances and hold no username in clear', async (t) => {
  const prefix = uniquePrefix()
  const a = await startBasicApp(t, { basicMaxFailures: 3, basicFailureWindow: 60, sessionStore: redisStore(t, prefix) })
  const b = await startBasicApp(t, { basicMaxFailures: 3, basicFailureWindow: 60, sessionStore: redisStore(t, prefix) })
  t.equal((await a.call('/basic', { authorization: wrong })).status, 401)
  t.equal((await b.call('/basic', { authorization: wrong })).status, 401)
  t.equal((await a.call('/basic', { authorization: wrong })).status, 401)
  t.equal((await b.call('/basic', { authorization: right })).status, 429, 'B counts A\'s failures')
  const keys = [...(await dump(await redisClient(t), prefix)).keys()]
  t.ok(keys.some((k) => k.startsWith(`${prefix}{basic-user:`)), 'a per-user counter')
  t.notOk(keys.some((k) => k.includes('alice')), 'no username in clear')
})

t.test('a custom session store without counters: failures are counted in this process', async (t) => {
  const sessions = new Map<string, unknown>()
  const store = {
    get: (id: string, cb: (err: unknown, s?: unknown) => void) => cb(null, sessions.get(id) ?? null),
    set: (id: string, s: unknown, cb: (err?: unknown) => void) => { sessions.set(id, s); cb() },
    destroy: (id: string, cb: (err?: unknown) => void) => { sessions.delete(id); cb() }
  }
  const app = await startBasicApp(t, { basicMaxFailures: 2, basicFailureWindow: 60, sessionStore: store as never })
  t.equal((await app.call('/basic', { authorization: wrong })).status, 401)
  t.equal((await app.call('/basic', { authorization: wrong })).status, 401)
  t.equal((await app.call('/basic', { authorization: right })).status, 429)
})
