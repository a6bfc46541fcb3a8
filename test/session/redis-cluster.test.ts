// Two app instances on a real 3-master Redis Cluster started by this test:
// instance A names it by OIDC_SESSION_STORE=redis+cluster://…, instance B is
// handed a RedisStore built on the app's own ioredis Cluster client (still
// connecting: the plugin waits for it). A session made on A opens on B, a
// refresh on one and a logout on the other, one refresh grant for concurrent
// requests on both, a back-channel logout ending sessions on several slots,
// and no token or claim in clear on any master.
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import type { JWTPayload } from 'jose'
import t, { type Test } from 'tap'
import { RedisStore } from '../../lib/index.js'
import { startAttack, hitCallback, reachCallback, type Attack } from '../helpers/attack.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { randomToken } from '../helpers/hostile-op.js'
import { recordIssuedTokens } from '../helpers/issued-tokens.js'
import { freePort, startProvider, type Teardownable, type TestProvider } from '../helpers/provider.js'
import { dumpNodes, nodeClient, startCluster, type TestCluster } from '../helpers/redis-servers.js'

const cluster: TestCluster = await startCluster(t)

/** A RedisStore on the app's own Cluster client (not yet ready), closed at teardown. */
function clusterStore (t: Teardownable, prefix?: string): RedisStore {
  const client = new Cluster(cluster.nodes, { enableOfflineQueue: false })
  t.teardown(() => client.disconnect())
  return new RedisStore({ client, prefix })
}

interface Pair {
  idp: TestProvider
  a: TestApp
  b: TestApp
  browser: Browser
}

async function pair (t: Test, accessTokenTtl = 3600): Promise<Pair> {
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}`, rotateRefreshToken: true, accessTokenTtl })
  const common = { issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, refreshLeeway: 0 }
  const a = await buildApp(t, { ...common, port: portA, env: { OIDC_SESSION_STORE: cluster.url } })
  const b = await buildApp(t, { ...common, port: portB, sessionStore: clusterStore(t) })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/public`)
  if (login.url !== `${a.baseUrl}/public`) throw new Error(`login failed: ${login.status} ${login.url}`)
  return { idp, a, b, browser }
}

async function status (browser: Browser, url: string): Promise<number> {
  return (await browser.get(url, { accept: 'application/json' })).status
}

t.test('a session made on instance A (cluster URL) opens on instance B (Cluster client); no master holds a token or claim in clear', async (t) => {
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}` })
  const issued = recordIssuedTokens(idp)
  const common = { issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret }
  const a = await buildApp(t, { ...common, port: portA, env: { OIDC_SESSION_STORE: cluster.url } })
  const b = await buildApp(t, { ...common, port: portB, sessionStore: clusterStore(t) })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/private`)
  t.same(JSON.parse(login.body), { sub: 'demo', roles: ['user'] }, 'logged in on A')
  t.same(JSON.parse((await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })).body), { sub: 'demo', roles: ['user'] }, 'the session opens on B')

  const entries = await dumpNodes(t, cluster.nodes.map((n) => n.port), 'fastify-oidc:*')
  t.ok([...entries.keys()].some((key) => /^fastify-oidc:\{[^}]+\}:sess$/.test(key)), 'the session key is hash-tagged by its id')
  const everything = [...entries].map(([key, value]) => `${key} ${value}`).join('\n')
  const secrets = [issued[0]!.accessToken, issued[0]!.refreshToken!, issued[0]!.idToken!, 'demo@example.com', '"sub":"demo"']
  for (const secret of secrets) t.notOk(everything.includes(secret), `no ${secret.slice(0, 12)}… on any master`)
  t.equal(a.events.filter((e) => e.type === 'login').length, 1)
  t.notOk([...a.logs, ...b.logs].some((line) => line.includes('CROSSSLOT') || line.includes('"level":50')), 'no CROSSSLOT, no error logged')
})

t.test('refresh on A, logout on B: the session ends on both', async (t) => {
  const p = await pair(t, 2)
  await sleep(2500)
  t.equal(await status(p.browser, `${p.a.baseUrl}/token`), 200, 'A refreshed the expired access token')
  t.equal(p.idp.countGrants('refresh_token'), 1)
  t.equal(await status(p.browser, `${p.b.baseUrl}/private`), 200, 'B opens the refreshed session')
  const logout = await p.browser.request('POST', `${p.b.baseUrl}/auth/logout`)
  t.equal(logout.status, 302, 'logged out on B')
  const cookie = `oidc.sid=${(await p.browser.cookies(p.a.baseUrl))['oidc.sid'] ?? ''}`
  t.equal((await fetch(`${p.a.baseUrl}/private`, { headers: { cookie, accept: 'application/json' } })).status, 401, 'A refuses it too')
})

t.test('20 concurrent requests over A and B with an expired access token: one refresh grant', async (t) => {
  const p = await pair(t, 2)
  await sleep(2500)
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    await status(p.browser, `${(i % 2 === 0 ? p.a : p.b).baseUrl}/token`)))
  t.same(results, Array(20).fill(200), 'every request succeeded')
  t.equal(p.idp.countGrants('refresh_token'), 1, 'the IdP saw exactly one refresh grant')
  t.equal([...p.a.events, ...p.b.events].filter((e) => e.type === 'refresh').length, 1)
})

const EVENT = 'http://schemas.openid.net/event/backchannel-logout'

async function hostileLogin (t: Test, attack: Attack, user: Attack['op']['user']): Promise<Browser> {
  attack.op.user = user
  const browser = new Browser()
  const res = await hitCallback(attack, await reachCallback(attack, browser), { browser })
  t.equal(res.status, 302, `${user.sub} (sid ${String(user['sid'])}) logged in`)
  return browser
}

t.test('a back-channel logout ends the sessions of a user on several slots, one slot at a time', async (t) => {
  const prefix = `bcl-${randomToken().slice(0, 8)}:`
  const attack = await startAttack(t, { app: { sessionStore: clusterStore(t, prefix) } })
  const alice = []
  for (let i = 0; i < 5; i++) alice.push(await hostileLogin(t, attack, { sub: 'alice', sid: `op-sid-${i}` }))
  const bob = await hostileLogin(t, attack, { sub: 'bob', sid: 'op-sid-bob' })

  const client = await nodeClient(t, cluster.nodes[0]!.port)
  const keys = [...(await dumpNodes(t, cluster.nodes.map((n) => n.port), `${prefix}*`)).keys()].filter((k) => k.endsWith(':sess'))
  t.equal(keys.length, 6, 'six sessions stored')
  const slots = new Set(await Promise.all(keys.map(async (key) => await client.cluster('KEYSLOT', key))))
  t.ok(slots.size > 1, `the sessions spread over ${slots.size} slots`)

  const now = Math.floor(Date.now() / 1000)
  const claims: JWTPayload = { iss: attack.op.issuer, aud: attack.op.clientId, iat: now, exp: now + 120, jti: randomToken(), events: { [EVENT]: {} }, sub: 'alice' }
  const res = await fetch(`${attack.baseUrl}/auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: await attack.op.signIdToken(claims, { typ: 'logout+jwt' }) })
  })
  t.equal(res.status, 200, 'the logout token is accepted')
  for (const [i, browser] of alice.entries()) t.equal(await status(browser, `${attack.baseUrl}/private`), 401, `alice's session ${i} ended`)
  t.equal(await status(bob, `${attack.baseUrl}/private`), 200, 'bob is still logged in')
})
