// The cluster-wide refresh lock when another instance holds it: if that
// instance ends the session meanwhile, this request learns it (401, reason
// session_ended, the session is dropped); if nobody refreshes before the wait
// ends, 503 with Retry-After (reason refresh_lock_timeout) and no grant spent.
// A lock is released only by its holder.
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { freePort, startProvider, type TestProvider } from '../helpers/provider.js'
import { redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'

interface Setup { app: TestApp, idp: TestProvider, browser: Browser, prefix: string, sessionId: string }

/** Logged in with a 2 s access token, on Redis. */
async function setup (t: Test): Promise<Setup> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, accessTokenTtl: 2 })
  const prefix = uniquePrefix()
  const app = await buildApp(t, {
    port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, refreshLeeway: 0, sessionStore: redisStore(t, prefix)
  })
  const browser = new Browser()
  await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/public`)
  const sessionId = decodeURIComponent((await browser.cookies(app.baseUrl))['oidc.sid']!).replace(/\.[^.]*$/, '')
  return { app, idp, browser, prefix, sessionId }
}

t.test('another instance holds the lock and ends the session: 401 session_ended, no grant, the session is dropped', async (t) => {
  const s = await setup(t)
  const redis = await redisClient(t)
  await sleep(2100)
  await redis.set(`${s.prefix}{refresh:${s.sessionId}}:lock`, 'another-instance', 'PX', 10_000)
  const pending = s.browser.get(`${s.app.baseUrl}/token`, { accept: 'application/json' })
  await sleep(200)
  await redis.del(`${s.prefix}{${s.sessionId}}:sess`)
  await redis.del(`${s.prefix}{refresh:${s.sessionId}}:lock`)
  const res = await pending
  t.equal(res.status, 401)
  t.equal(s.idp.countGrants('refresh_token'), 0, 'no grant spent')
  t.match(s.app.events.at(-1), { type: 'refresh_failure', reason: 'session_ended' })
  t.match(res.headers.getSetCookie().join('\n'), /oidc\.sid=;/, 'the cookie is cleared')
})

t.test('another instance holds the lock and never refreshes: 503 with Retry-After after the wait, no grant', async (t) => {
  const s = await setup(t)
  const redis = await redisClient(t)
  await sleep(2100)
  await redis.set(`${s.prefix}{refresh:${s.sessionId}}:lock`, 'a-stuck-instance', 'PX', 60_000)
  const started = Date.now()
  const res = await s.browser.get(`${s.app.baseUrl}/token`, { accept: 'application/json' })
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_SESSION_STORE_UNAVAILABLE')
  t.ok(Number(res.headers.get('retry-after')) > 0)
  t.ok(Date.now() - started >= 5000, 'it waited about one IdP time-out (5 s by default) + 1 s')
  t.equal(s.idp.countGrants('refresh_token'), 0)
  t.match(s.app.events.at(-1), { type: 'refresh_failure', reason: 'refresh_lock_timeout' })
  t.equal(await redis.get(`${s.prefix}{refresh:${s.sessionId}}:lock`), 'a-stuck-instance', 'another holder\'s lock is not released')
  await redis.del(`${s.prefix}{refresh:${s.sessionId}}:lock`)
  t.equal((await s.browser.get(`${s.app.baseUrl}/token`, { accept: 'application/json' })).status, 200, 'the session was kept: works once the lock is free')
})

t.test('memory store locks: a second taker waits, times out, and a stale release does not free another holder', async (t) => {
  const store = new MemoryStore()
  const first = await store.lock('k', 10_000, 0)
  t.type(first, 'function')
  t.equal(await store.lock('k', 1000, 30), null, 'held: not had within 30 ms')
  await first!()
  t.type(await store.lock('k', 1000, 0), 'function', 'released by its holder: had at once')

  const short = await store.lock('s', 20, 0)
  await sleep(150)
  const second = await store.lock('s', 10_000, 0)
  t.type(second, 'function', 'a lock past its ttl is taken over')
  await short!()
  t.equal(await store.lock('s', 1000, 0), null, 'the expired holder\'s release did not free the new holder')
  await second!()
  t.type(await store.lock('s', 1000, 0), 'function')
})
