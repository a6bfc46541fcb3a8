// Two app instances on different ports sharing one Redis and one real
// oidc-provider that rotates refresh tokens: a session made on A works on B;
// 20 concurrent requests split over A and B with an expired access token all
// succeed with exactly one refresh grant at the IdP; logout on B ends the
// session on A; both instances restarted, the session still works.
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Browser, loginAtProvider, logoutAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { freePort, startProvider, type TestProvider } from '../helpers/provider.js'
import { redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'

interface Cluster {
  idp: TestProvider
  a: TestApp
  b: TestApp
  prefix: string
  browser: Browser
  start: (port: number) => Promise<TestApp>
}

async function cluster (t: Test, accessTokenTtl = 3600): Promise<Cluster> {
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}`, rotateRefreshToken: true, accessTokenTtl })
  const prefix = uniquePrefix()
  const start = async (port: number): Promise<TestApp> => await buildApp(t, {
    port,
    issuer: idp.issuer,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    refreshLeeway: 0,
    sessionStore: redisStore(t, prefix)
  })
  const a = await start(portA)
  const b = await start(portB)
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/public`)
  if (login.url !== `${a.baseUrl}/public`) throw new Error(`login failed: ${login.status} ${login.url}`)
  return { idp, a, b, prefix, browser, start }
}

/** GET as the browser (cookies of 127.0.0.1 go to both ports: the same host). */
async function get (browser: Browser, url: string): Promise<{ status: number, body: any }> {
  const res = await browser.get(url, { accept: 'application/json' })
  return { status: res.status, body: JSON.parse(res.body) }
}

t.test('a session made on A is used on B', async (t) => {
  const c = await cluster(t)
  t.same(await get(c.browser, `${c.b.baseUrl}/private`), { status: 200, body: { sub: 'demo', roles: ['user'] } })
  t.same((await get(c.browser, `${c.b.baseUrl}/auth/session`)).body.authenticated, true)
})

t.test('20 concurrent requests over A and B with an expired access token: all succeed, one refresh grant, the session survives', async (t) => {
  const c = await cluster(t, 2)
  await sleep(2500)
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    await get(c.browser, `${(i % 2 === 0 ? c.a : c.b).baseUrl}/token`)))
  t.same(results.map((r) => r.status), Array(20).fill(200), 'every request succeeded')
  t.equal(c.idp.countGrants('refresh_token'), 1, 'the IdP saw exactly one refresh grant')
  t.equal(new Set(results.map((r) => r.body.length)).size, 1)
  const refreshes = [...c.a.events, ...c.b.events].filter((e) => e.type === 'refresh')
  t.equal(refreshes.length, 1, 'one refresh event, on one instance')
  t.equal([...c.a.events, ...c.b.events].filter((e) => e.type === 'refresh_failure').length, 0)
  t.same(await get(c.browser, `${c.b.baseUrl}/private`), { status: 200, body: { sub: 'demo', roles: ['user'] } }, 'the session survives')
  t.same(await get(c.browser, `${c.a.baseUrl}/private`), { status: 200, body: { sub: 'demo', roles: ['user'] } })
  t.equal(c.idp.countGrants('refresh_token'), 1, 'the new token is not refreshed again')
})

t.test('logout on B ends the session on A', async (t) => {
  const c = await cluster(t)
  const logout = await c.browser.request('POST', `${c.b.baseUrl}/auth/logout`)
  t.equal(logout.status, 302)
  // Replay the old cookie on A, as a request in flight there would.
  t.equal((await get(c.browser, `${c.a.baseUrl}/private`)).status, 401)
  t.equal((await get(c.browser, `${c.b.baseUrl}/private`)).status, 401)
})

t.test('a request on A that loaded the session before logout on B cannot write it back', async (t) => {
  const c = await cluster(t, 2)
  await sleep(2500)
  const cookie = `oidc.sid=${(await c.browser.cookies(c.a.baseUrl))['oidc.sid']}`
  // A starts a refresh (it will save the session), B logs out meanwhile.
  const [refreshed, logout] = await Promise.all([
    fetch(`${c.a.baseUrl}/token`, { headers: { cookie, accept: 'application/json' } }),
    (async () => {
      await sleep(5)
      return await fetch(`${c.b.baseUrl}/auth/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' })
    })()
  ])
  t.equal(logout.status, 302)
  t.ok([200, 401].includes(refreshed.status), `A answered ${refreshed.status}`)
  for (const app of [c.a, c.b]) {
    t.equal((await fetch(`${app.baseUrl}/private`, { headers: { cookie, accept: 'application/json' } })).status, 401, 'the session stays ended')
  }
})

t.test('both instances restarted: the session still works', async (t) => {
  const c = await cluster(t)
  const [portA, portB] = [Number(new URL(c.a.baseUrl).port), Number(new URL(c.b.baseUrl).port)]
  await c.a.app.close()
  await c.b.app.close()
  const a2 = await c.start(portA)
  const b2 = await c.start(portB)
  t.equal((await get(c.browser, `${a2.baseUrl}/private`)).status, 200)
  t.equal((await get(c.browser, `${b2.baseUrl}/private`)).status, 200)
})

t.test('the Redis store keeps the key count honest: one session key per login, none for anonymous traffic', async (t) => {
  const c = await cluster(t)
  const redis = await redisClient(t)
  const sessions = await redis.keys(`${c.prefix}{*}:sess`)
  t.equal(sessions.length, 1, 'one session key after one login')
  const ttl = await redis.pttl(sessions[0]!)
  t.ok(ttl > 0 && ttl <= 8 * 3600 * 1000, 'it expires with the session')
  const before = (await redis.keys(`${c.prefix}*`)).length
  for (let i = 0; i < 10; i++) {
    await fetch(`${c.a.baseUrl}/public`)
    await fetch(`${c.b.baseUrl}/private`, { headers: { accept: 'application/json' } })
    await fetch(`${c.a.baseUrl}/auth/session`)
  }
  t.equal((await redis.keys(`${c.prefix}*`)).length, before, 'anonymous requests wrote nothing')
})

t.test('logout at the IdP: its back-channel call reaches A and ends the session on A and B', async (t) => {
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}`, backchannelLogoutUri: `http://127.0.0.1:${portA}/auth/backchannel-logout` })
  const prefix = uniquePrefix()
  const start = async (port: number): Promise<TestApp> => await buildApp(t, {
    port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: redisStore(t, prefix)
  })
  const a = await start(portA)
  const b = await start(portB)
  const browser = new Browser()
  await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/public`)
  t.equal((await get(browser, `${b.baseUrl}/private`)).status, 200, 'logged in, seen on B')
  const redis = await redisClient(t)
  const index = await redis.keys(`${prefix}{*}:idx`)
  t.equal(index.length, 2, 'indexed under the IdP session (sid) and the user (sub)')
  t.notOk(index.some((key) => key.includes('demo')), 'under keyed hashes: no sub in clear')

  await logoutAtProvider(browser, `${idp.issuer}/session/end`)
  t.equal(a.events.filter((e) => e.type === 'backchannel_logout').length, 1, 'A received and accepted the logout token')
  t.equal((await get(browser, `${b.baseUrl}/private`)).status, 401, 'the session is gone on B')
  t.equal((await get(browser, `${a.baseUrl}/private`)).status, 401, 'and on A')
  t.equal((await redis.keys(`${prefix}{*}:sess`)).length, 0, 'no session key left')
})
