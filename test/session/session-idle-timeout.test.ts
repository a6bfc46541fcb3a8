// OIDC_SESSION_IDLE_TIMEOUT (`sessionIdleTimeout`): a rolling lifetime inside
// the absolute one. A session used within the timeout lives on; one left idle
// past it ends (401, cookie cleared), and the Redis entry itself expires then.
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'
import { redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'

async function loggedIn (t: Test, extra: Record<string, unknown> = {}) {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, env: { OIDC_SESSION_IDLE_TIMEOUT: '2' }, ...extra })
  const browser = new Browser()
  await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/public`)
  const status = async (): Promise<number> => (await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })).status
  return { app, browser, status }
}

t.test('a session used every second outlives a 2 s idle timeout', async (t) => {
  const { status } = await loggedIn(t)
  for (let i = 0; i < 4; i++) {
    await sleep(1000)
    t.equal(await status(), 200, `still active after ${i + 1} s`)
  }
})

t.test('a session left idle past the timeout ends: 401 and the cookie is cleared', async (t) => {
  const { app, browser, status } = await loggedIn(t)
  t.equal(await status(), 200)
  await sleep(2300)
  const res = await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })
  t.equal(res.status, 401)
  t.match(res.headers.getSetCookie().join('\n'), /oidc\.sid=;/, 'the cookie is cleared')
  t.equal(await status(), 401)
})

t.test('with Redis, the entry expires with the idle deadline', async (t) => {
  const prefix = uniquePrefix()
  const { browser, app } = await loggedIn(t, { sessionStore: redisStore(t, prefix) })
  const redis = await redisClient(t)
  const [key] = await redis.keys(`${prefix}{*}:sess`)
  const ttl = await redis.pttl(key!)
  t.ok(ttl > 0 && ttl <= 2000, `the key expires within the idle timeout (${ttl} ms)`)
  await sleep(2300)
  t.equal(await redis.exists(key!), 0, 'Redis dropped it by itself')
  t.equal((await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })).status, 401)
})

t.test('turning the idle timeout on keeps existing sessions: their deadline starts at their next request', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const prefix = uniquePrefix()
  const options = { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret }
  const before = await buildApp(t, { ...options, sessionStore: redisStore(t, prefix) })
  const browser = new Browser()
  await loginAtProvider(browser, `${before.baseUrl}/auth/login?returnTo=/public`)
  await before.app.close()
  const after = await buildApp(t, { ...options, sessionStore: redisStore(t, prefix), env: { OIDC_SESSION_IDLE_TIMEOUT: '2' } })
  t.equal((await browser.get(`${after.baseUrl}/private`, { accept: 'application/json' })).status, 200, 'still logged in')
  await sleep(2300)
  t.equal((await browser.get(`${after.baseUrl}/private`, { accept: 'application/json' })).status, 401, 'then idle rules apply')
})

/** A store that never expires anything itself (a bare map): only the checks on read can end a session. */
function bareStore (): { get: Function, set: Function, destroy: Function } {
  const sessions = new Map<string, unknown>()
  return {
    get: (id: string, cb: (err: unknown, s?: unknown) => void) => cb(null, sessions.get(id) ?? null),
    set: (id: string, s: unknown, cb: (err?: unknown) => void) => { sessions.set(id, JSON.parse(JSON.stringify(s))); cb() },
    destroy: (id: string, cb: (err?: unknown) => void) => { sessions.delete(id); cb() }
  }
}

t.test('the idle timeout is enforced on read too, with a store that expires nothing', async (t) => {
  const { app, browser, status } = await loggedIn(t, { sessionStore: bareStore() as never })
  t.equal(await status(), 200)
  await sleep(2300)
  const res = await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })
  t.equal(res.status, 401, 'past its idle deadline, the stored session is refused')
  t.match(res.headers.getSetCookie().join('\n'), /oidc\.sid=;/)
})

t.test('a store without locks still refreshes (single-flight in this process)', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, accessTokenTtl: 1 })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, refreshLeeway: 0, sessionStore: bareStore() as never })
  const browser = new Browser()
  await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/public`)
  await sleep(1200)
  const results = await Promise.all([1, 2, 3].map(async () => (await browser.get(`${app.baseUrl}/token`, { accept: 'application/json' })).status))
  t.same(results, [200, 200, 200])
  t.equal(idp.countGrants('refresh_token'), 1)
})
