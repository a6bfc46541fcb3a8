// The cache of verified bearer JWTs (verifiedTokenCacheTtl / OIDC_BEARER_CACHE_TTL):
// the same token again is not verified again — shown by rotating the IdP's keys
// and letting the wall clock pass the JWKS cache's 10 minutes, after which any
// verification refetches the keys and refuses a token of the dropped key — while
// an entry never outlives its TTL nor the token's exp (checked on every hit), 0
// disables it, a handler cannot change what the next request sees, and at most
// 10,000 tokens are kept (least recently used out first).
//
// The wall clock is moved by replacing the global Date (Date.now and new Date():
// what jose and the cache read for exp and the JWKS age); the LRU's own TTL runs
// on performance.now, a monotonic clock this does not move — as when a
// machine's clock jumps.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { resolveResourceServerConfig } from '../../lib/index.js'
import { createBearerVerifier } from '../../lib/tokens/bearer-verifier.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, viewOf, type BuildResourceServerOptions, type ResourceServerApp } from '../helpers/resource-server.js'

/** More than the JWKS cache's 10 minutes: the next verification refetches the keys. */
const PAST_JWKS_CACHE = 11 * 60_000
const RealDate = Date
let offset = 0

/** Moves the wall clock `ms` forward (cumulative) until the test ends. */
function travel (t: Test, ms: number): void {
  if (offset === 0) {
    class ShiftedDate extends RealDate {
      constructor (...args: unknown[]) {
        if (args.length === 0) super(RealDate.now() + offset)
        else super(...(args as [number]))
      }

      static override now (): number {
        return RealDate.now() + offset
      }
    }
    globalThis.Date = ShiftedDate as DateConstructor
    t.teardown(() => {
      globalThis.Date = RealDate
      offset = 0
    })
  }
  offset += ms
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

interface Answer { status: number, body: Record<string, unknown>, challenge: string | null }

async function call (url: string, token: string): Promise<Answer> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown>, challenge: res.headers.get('www-authenticate') }
}

async function setup (t: Test, options: Partial<BuildResourceServerOptions> = {}): Promise<{ op: HostileOp, api: ResourceServerApp, get: (token: string, path?: string) => Promise<Answer> }> {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, ...options })
  return { op, api, get: async (token, path = '/api') => await call(`${api.url}${path}`, token) }
}

/** The IdP drops every key it signed with so far, and the JWKS cache goes stale. */
async function rotateAndAge (t: Test, op: HostileOp): Promise<void> {
  await op.rotateKeys()
  travel(t, PAST_JWKS_CACHE)
}

t.test('the same token again is served from the cache: not verified, no JWKS fetch', async (t) => {
  const { op, get } = await setup(t)
  const token = await signAccessToken(op, { exp: nowSeconds() + 3600 })
  const sibling = await signAccessToken(op, { exp: nowSeconds() + 3600 })
  t.equal((await get(token)).status, 200)
  t.equal(op.requests('/jwks').length, 1)

  await rotateAndAge(t, op)
  const again = await get(token)
  t.equal(again.status, 200, 'the cached token is still accepted')
  t.match(again.body, { authenticated: true, via: 'bearer', user: { sub: 'alice' }, scopes: ['api:read'] })
  t.equal(op.requests('/jwks').length, 1, 'and the keys were not fetched')

  const fresh = await get(sibling)
  t.equal(fresh.status, 401, 'a token of the same, now dropped, key that was never seen is verified: refused')
  t.equal(fresh.body['code'], 'FST_OIDC_TOKEN_INVALID')
  t.match(fresh.challenge, /no issuer key matches the token/)
  t.equal(op.requests('/jwks').length, 2, 'its verification refetched the keys')
  t.equal((await get(await signAccessToken(op))).status, 200, 'tokens of the new key pass')
  t.equal((await get(token)).status, 200, 'the cached token still')
})

t.test('OIDC_BEARER_CACHE_TTL=0: every request verifies its token', async (t) => {
  const { op, get } = await setup(t, { env: { OIDC_BEARER_CACHE_TTL: '0' } })
  const token = await signAccessToken(op, { exp: nowSeconds() + 3600 })
  t.equal((await get(token)).status, 200)
  t.equal((await get(token)).status, 200)
  await rotateAndAge(t, op)
  const again = await get(token)
  t.equal(again.status, 401, 'verified again, against the new keys')
  t.match(again.challenge, /no issuer key matches the token/)
  t.equal(op.requests('/jwks').length, 2)
})

t.test('an entry lives verifiedTokenCacheTtl seconds at most', async (t) => {
  const { op, get } = await setup(t, { verifiedTokenCacheTtl: 1 })
  const token = await signAccessToken(op, { exp: nowSeconds() + 3600 })
  t.equal((await get(token)).status, 200)
  await sleep(1100)
  await rotateAndAge(t, op)
  const again = await get(token)
  t.equal(again.status, 401, 'after its TTL the token is verified again')
  t.match(again.challenge, /no issuer key matches the token/)
})

t.test('a cached token is refused once its exp has passed', async (t) => {
  t.test('on the wall clock, even within the cache\'s own (monotonic) TTL', async (t) => {
    const { op, get } = await setup(t, { clockTolerance: 0, verifiedTokenCacheTtl: 3600 })
    const token = await signAccessToken(op, { exp: nowSeconds() + 600 })
    t.equal((await get(token)).status, 200)
    t.equal((await get(token)).status, 200, 'cached')
    travel(t, 601_000)
    const expired = await get(token)
    t.equal(expired.status, 401)
    t.equal(expired.body['code'], 'FST_OIDC_TOKEN_INVALID')
    t.match(expired.challenge, /error="invalid_token", error_description="[^"]*the token has expired"/)
  })

  t.test('a token of a short life: its entry ends at its exp', async (t) => {
    const { op, get } = await setup(t, { clockTolerance: 0 })
    const exp = nowSeconds() + 2
    const token = await signAccessToken(op, { exp })
    t.equal((await get(token)).status, 200)
    t.equal((await get(token)).status, 200)
    await sleep(exp * 1000 - Date.now() + 50)
    const expired = await get(token)
    t.equal(expired.status, 401)
    t.match(expired.challenge, /the token has expired/)
  })

  t.test('a token accepted past its exp within the clock tolerance is not kept', async (t) => {
    const { op, get } = await setup(t, { clockTolerance: 60 })
    const token = await signAccessToken(op, { exp: nowSeconds() - 5 })
    t.equal((await get(token)).status, 200, 'accepted: 5 s late, 60 s tolerated')
    travel(t, 60_000)
    const expired = await get(token)
    t.equal(expired.status, 401, 'past the tolerance: refused')
    t.match(expired.challenge, /the token has expired/)
  })
})

t.test('a handler changing request.oidc changes nothing for the next request with the same token', async (t) => {
  const routes = (app: FastifyInstance): void => {
    app.get('/mutate', { preHandler: app.requireBearer() }, async (request) => {
      request.oidc.scopes.push('admin:write')
      const user = request.oidc.user as Record<string, unknown>
      user['sub'] = 'mallory'
      user['scope'] = 'api:read admin:write'
      ;(user['roles'] as string[]).push('admin')
      ;(user['org'] as Record<string, unknown>)['id'] = 'evil'
      return viewOf(request.oidc)
    })
    app.get('/admin', { preHandler: app.requireBearer({ scopes: ['admin:write'] }) }, async (request) => viewOf(request.oidc))
    app.get('/api', { preHandler: app.requireBearer() }, async (request) => viewOf(request.oidc))
    app.get('/proto', { preHandler: app.requireBearer() }, async (request) => {
      const user = request.oidc.user as Record<string, unknown>
      return { own: Object.hasOwn(user, '__proto__'), prototype: Object.getPrototypeOf(user) === Object.prototype, inherited: user['isAdmin'] ?? null }
    })
  }
  const { op, get } = await setup(t, { routes })
  const token = await signAccessToken(op, { roles: ['user'], org: { id: 'acme' }, middle_name: null, ['__proto__']: { isAdmin: true } })

  const mutated = await get(token, '/mutate')
  t.equal(mutated.status, 200, 'the handler may change its own copy')
  t.match(mutated.body, { scopes: ['api:read'], roles: ['user', 'admin'], user: { sub: 'mallory', org: { id: 'evil' } } })

  for (const round of [1, 2]) {
    const admin = await get(token, '/admin')
    t.equal(admin.status, 403, `round ${round}: the token is still refused a scope it was never granted`)
    t.equal(admin.body['code'], 'FST_OIDC_INSUFFICIENT_SCOPE')
    const again = await get(token, '/api')
    t.equal(again.status, 200)
    t.same(again.body['scopes'], ['api:read'])
    t.same(again.body['roles'], ['user'])
    t.match(again.body['user'], { sub: 'alice', scope: 'api:read', roles: ['user'], org: { id: 'acme' }, middle_name: null }, 'the token\'s claims, untouched')
  }
  t.same((await get(token, '/proto')).body, { own: true, prototype: true, inherited: null }, 'a __proto__ claim stays a claim in the copy')
  t.equal(op.requests('/jwks').length, 1)
})

t.test('the verifier: one frozen result per cached token, at most 10,000 tokens kept (least recently used out first)', async (t) => {
  // The verifier itself, against the hostile OP's JWKS over HTTP: 10,001 requests through Fastify would take long.
  const op = await startHostileOp(t)
  const settings = {
    issuer: op.issuer,
    audiences: [API_AUDIENCE],
    algorithms: ['ES256'],
    accessTokenTypes: ['at+jwt'],
    clockTolerance: 60,
    httpTimeout: 5000,
    jwksUri: op.url('/jwks'),
    verifiedTokenCacheTtl: 3600
  }
  const verifier = createBearerVerifier(settings)
  const sign = async (): Promise<string> => await signAccessToken(op, { exp: nowSeconds() + 3600, roles: ['user'] }, { alg: 'ES256' })
  const [oldest, second] = [await sign(), await sign()]
  const first = await verifier.verify(oldest)
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.claims) && Object.isFrozen(first.scopes) && Object.isFrozen(first.claims['roles']), 'deep-frozen')
  t.throws(() => { (first.claims['roles'] as string[]).push('admin') }, TypeError)
  t.equal(await verifier.verify(oldest), first, 'the same token again: the same result, not verified again')
  await verifier.verify(second)
  for (let i = 0; i < 9_999; i++) await verifier.verify(await sign())

  await rotateAndAge(t, op)
  await t.rejects(verifier.verify(oldest), { code: 'FST_OIDC_TOKEN_INVALID', message: /no issuer key matches the token/ }, 'the oldest of 10,001 tokens left the cache: verified again, refused')
  t.ok(await verifier.verify(second), 'the 10,000 others are kept')

  const uncached = createBearerVerifier({ ...settings, verifiedTokenCacheTtl: 0 })
  const token = await signAccessToken(op, {}, { alg: 'ES256' })
  const once = await uncached.verify(token)
  t.ok(Object.isFrozen(once.claims), 'frozen without the cache too')
  t.not(await uncached.verify(token), once, 'without the cache, verified each time')
})

t.test('requireAuth({ accept: [\'bearer\'] }) of the relying party uses the cache too', async (t) => {
  const op = await startHostileOp(t)
  const port = await freePort()
  const { baseUrl } = await buildApp(t, {
    port,
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    resourceServer: { audience: API_AUDIENCE },
    env: { OIDC_BEARER_CACHE_TTL: '120' },
    routes: (app) => {
      app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => viewOf(request.oidc))
    }
  })
  const token = await signAccessToken(op, { exp: nowSeconds() + 3600 })
  t.equal((await call(`${baseUrl}/api`, token)).status, 200)
  await rotateAndAge(t, op)
  t.equal((await call(`${baseUrl}/api`, token)).status, 200, 'served from the cache')
  t.equal((await call(`${baseUrl}/api`, await signAccessToken(op, { exp: nowSeconds() + 3600 }, { key: op.keys.retired[0] }))).status, 401, 'a new token of the dropped key is verified: refused')
})

t.test('configuration: default 60 s, options over env, 0 to 3600', async (t) => {
  const base = { issuer: 'https://idp.example.com', audience: API_AUDIENCE }
  t.equal(resolveResourceServerConfig({ ...base, env: {} }).verifiedTokenCacheTtl, 60)
  t.equal(resolveResourceServerConfig({ ...base, env: { OIDC_BEARER_CACHE_TTL: '0' } }).verifiedTokenCacheTtl, 0)
  t.equal(resolveResourceServerConfig({ ...base, env: { OIDC_BEARER_CACHE_TTL: '30' }, verifiedTokenCacheTtl: 300 }).verifiedTokenCacheTtl, 300)
  for (const bad of ['-1', '3601', '1.5', 'soon']) {
    t.throws(() => resolveResourceServerConfig({ ...base, env: { OIDC_BEARER_CACHE_TTL: bad } }), { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_BEARER_CACHE_TTL/ }, bad)
  }
})
