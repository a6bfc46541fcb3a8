// The issuer's JWKS as oidcResourceServer uses it: unreachable, slow or broken
// keys are the IdP's fault — 503 with Retry-After, never 401 — and the API
// recovers by itself; an unknown kid makes at most one fetch per cooldown.
import t, { type Test } from 'tap'
import { generateOpKey, startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, type ResourceServerApp } from '../helpers/resource-server.js'

async function setup (t: Test): Promise<{ op: HostileOp, api: ResourceServerApp }> {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, httpTimeout: 300 })
  return { op, api }
}

async function call (api: ResourceServerApp, token: string): Promise<{ status: number, code: unknown, headers: Headers }> {
  const res = await fetch(`${api.url}/api`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, code: (await res.json() as { code?: unknown }).code, headers: res.headers }
}

t.test('JWKS broken, slow or reset: 503 with Retry-After, then recovery', async (t) => {
  const { op, api } = await setup(t)
  const token = await signAccessToken(op)
  const scripts: Array<[string, HostileOp['onJwks']]> = [
    ['HTTP 500', () => ({ status: 500, body: { error: 'oops' } })],
    ['not JSON', () => ({ body: '<html>maintenance</html>' })],
    ['not a JWK set', () => ({ body: { keys: 'none' } })],
    ['too slow', () => ({ delayMs: 1500 })],
    ['connection reset', () => ({ destroy: true })]
  ]
  for (const [name, script] of scripts) {
    op.onJwks = script
    const res = await call(api, token)
    t.equal(res.status, 503, name)
    t.equal(res.code, 'FST_OIDC_VERIFIER_UNAVAILABLE', name)
    t.equal(res.headers.get('retry-after'), '10', name)
    t.equal(res.headers.get('www-authenticate'), null, name)
  }
  op.onJwks = undefined
  t.equal((await call(api, token)).status, 200, 'the keys are fetched again once the IdP is back')
})

t.test('JWKS unreachable: 503', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, jwksUri: 'http://127.0.0.1:9/jwks' })
  const res = await call(api, await signAccessToken(op))
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '10')
})

t.test('an unknown kid: refused, and the JWKS is not refetched within the cooldown', async (t) => {
  const { op, api } = await setup(t)
  const stranger = await generateOpKey('RS256', 'unknown-kid')
  const first = await call(api, await signAccessToken(op, {}, { key: stranger }))
  t.equal(first.status, 401, 'the first fetch does not know it')
  t.equal(first.code, 'FST_OIDC_TOKEN_INVALID')
  t.match(first.headers.get('www-authenticate'), /no issuer key matches the token/)
  t.equal(op.requests('/jwks').length, 1)

  // The IdP now publishes it, but the keys were fetched less than 30 s ago.
  op.keys.published.push(stranger)
  for (let i = 0; i < 3; i++) t.equal((await call(api, await signAccessToken(op, {}, { key: stranger }))).status, 401)
  t.equal(op.requests('/jwks').length, 1, 'a flood of unknown kids makes no more JWKS requests')
  t.equal((await call(api, await signAccessToken(op))).status, 200, 'known keys keep working')
})
