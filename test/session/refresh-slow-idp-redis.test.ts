// A slow IdP during a refresh, two instances sharing one Redis (issue 11 point 4).
// The IdP rotates refresh tokens strictly and hangs on the refresh grant past the
// HTTP time-out. Instance A's request gets 504 and the session keeps a back-off
// mark in Redis: requests on A and on B answer 503 FST_OIDC_REFRESH_PENDING with
// Retry-After and send no grant; when the IdP answers late, A saves the rotated
// tokens and B's next request uses them — one grant, no reuse, no revocation.
import t, { type Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'
import { strictRotation, until, type Rotation } from '../helpers/rotating-op.js'

const HTTP_TIMEOUT = 1500

interface Pair { op: HostileOp, rotation: Rotation, a: TestApp, b: TestApp, cookie: string, prefix: string }

/** Instances A and B (one public URL, A's), on one Redis prefix, logged in on A with an access token inside the refresh leeway. */
async function pair (t: Test): Promise<Pair> {
  const op = await startHostileOp(t)
  op.tokenTtl = 30
  const rotation = strictRotation(op)
  const prefix = uniquePrefix()
  const portA = await freePort()
  const start = async (port: number): Promise<TestApp> => await buildApp(t, {
    port,
    baseUrl: `http://127.0.0.1:${portA}`,
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    httpTimeout: HTTP_TIMEOUT,
    refreshLeeway: 60,
    sessionStore: redisStore(t, prefix),
    routes: (app) => app.get('/at', { preHandler: app.requireAuth() }, async (request) => ({ at: await request.oidc.accessToken() }))
  })
  const a = await start(portA)
  const b = await start(await freePort())
  const browser = new Browser()
  await browser.follow(`${a.baseUrl}/auth/login?returnTo=/public`)
  const cookie = await browser.jar.getCookieString(a.baseUrl)
  op.tokenTtl = 3600
  return { op, rotation, a, b, cookie, prefix }
}

/** A guarded JSON request to an instance with the browser's session cookie. */
async function call (app: TestApp, cookie: string, path = '/private'): Promise<{ status: number, retryAfter: number, body: { code?: string, at?: string } }> {
  const res = await fetch(`${app.baseUrl}${path}`, { headers: { cookie, accept: 'application/json' } })
  return { status: res.status, retryAfter: Number(res.headers.get('retry-after')), body: await res.json() as { code?: string } }
}

t.test('IdP hangs past the time-out: A answers 504, A and B then 503 without a grant; the late answer reaches B', async (t) => {
  const p = await pair(t)
  t.match(p.cookie, /oidc\.sid=/, 'logged in')
  const release = p.rotation.hang()

  const first = await call(p.a, p.cookie)
  t.equal(first.status, 504, 'A waited one HTTP time-out')
  t.equal(first.body.code, 'FST_OIDC_IDP_TIMEOUT')

  // A burst of 20 parallel requests, half on each instance, some through accessToken().
  const during = await Promise.all(Array.from({ length: 20 }, async (_, i) => await call(i % 2 === 0 ? p.a : p.b, p.cookie, i % 4 < 2 ? '/private' : '/at')))
  t.same(during.map((r) => r.status), Array(20).fill(503), 'A and B back off')
  t.same(during.map((r) => r.body.code), Array(20).fill('FST_OIDC_REFRESH_PENDING'))
  t.ok(during.every((r) => r.retryAfter >= 1 && r.retryAfter <= 3), 'with Retry-After (at most one IdP wait: 1.5 s + 1 s, rounded up)')
  t.equal(p.rotation.grants, 1, 'the IdP saw exactly one refresh grant')
  t.same(p.b.events.map((e) => [e.type, e.reason]), Array(10).fill(['refresh_failure', 'refresh_pending']), 'B: one event per refused request')
  const redis = await redisClient(t)
  t.equal(await redis.keys(`${p.prefix}*:lock`).then((keys) => keys.length), 1, 'the session\'s refresh lock is still held')

  release()
  await until(() => p.a.events.some((e) => e.type === 'refresh'), 'A to save the late answer')
  t.same(await redis.keys(`${p.prefix}*:lock`), [], 'the lock is released once the IdP answered')
  const after = await call(p.b, p.cookie, '/at')
  t.equal(after.status, 200, 'B\'s next request works')
  t.equal(after.body.at, p.rotation.issued[0], 'with the access token of the late answer')
  t.equal((await call(p.a, p.cookie, '/at')).body.at, p.rotation.issued[0], 'so does A\'s')
  t.equal(p.rotation.grants, 1, 'one grant in all')
  t.equal(p.rotation.reuses, 0, 'no refresh token was used twice')
  t.equal(p.rotation.revoked, false, 'the grant was never revoked')
})

t.test('B already waiting for the lock when A times out: B answers 503 FST_OIDC_REFRESH_PENDING, no second grant', async (t) => {
  const p = await pair(t)
  const release = p.rotation.hang()
  const onA = call(p.a, p.cookie)
  await until(() => p.rotation.grants === 1, 'A\'s grant to reach the IdP')
  const onB = await call(p.b, p.cookie)
  t.equal(onB.status, 503, 'B waited for the lock, then saw the back-off')
  t.equal(onB.body.code, 'FST_OIDC_REFRESH_PENDING')
  t.ok(onB.retryAfter >= 1)
  t.equal((await onA).status, 504)
  t.equal(p.rotation.grants, 1)
  release()
  await until(() => p.a.events.some((e) => e.type === 'refresh'), 'A to save the late answer')
  t.equal((await call(p.b, p.cookie, '/at')).body.at, p.rotation.issued[0])
  t.equal(p.rotation.grants, 1)
  t.equal(p.rotation.reuses, 0)
})
