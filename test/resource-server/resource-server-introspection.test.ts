// Opaque access tokens checked by RFC 7662 introspection at a local,
// scriptable endpoint: what is sent (POST form, client_secret_basic), which
// answers make a token acceptable (401 otherwise), the endpoint failing
// (503 with Retry-After, never 401), and the bounded cache.
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import {
  API_AUDIENCE, buildIntrospectingServer, buildResourceServer, startIntrospectionEndpoint,
  type IntrospectionEndpoint, type OidcView, type ResourceServerApp
} from '../helpers/resource-server.js'
import type { OidcResourceServerOptions } from '../../lib/index.js'

const opaque = (): string => randomBytes(24).toString('base64url')

async function setup (t: Test, options: OidcResourceServerOptions = {}): Promise<{ endpoint: IntrospectionEndpoint, api: ResourceServerApp }> {
  const endpoint = await startIntrospectionEndpoint(t)
  const api = await buildIntrospectingServer(t, endpoint, {
    clientId: 'api:rs',
    clientSecret: 'p@ss word',
    httpTimeout: 300,
    ...options
  })
  return { endpoint, api }
}

async function call (api: ResourceServerApp, token: string): Promise<{ status: number, body: Record<string, unknown>, headers: Headers }> {
  const res = await fetch(`${api.url}/api`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown>, headers: res.headers }
}

t.test('an active token passes; the endpoint gets a Basic-authenticated POST form', async (t) => {
  const { endpoint, api } = await setup(t)
  const token = opaque()
  const exp = Math.floor(Date.now() / 1000) + 600
  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: [API_AUDIENCE, 'other'], iss: endpoint.url, exp, scp: ['api:read', 'api:write'], token_type: 'bearer' } })
  const res = await call(api, token)
  t.equal(res.status, 200)
  const view = res.body as unknown as OidcView
  t.match(view, { authenticated: true, via: 'bearer', scopes: ['api:read', 'api:write'], expiresAt: exp, user: { sub: 'alice', iss: endpoint.url } })
  t.notOk('active' in view.user!, 'active is no claim')

  const [seen] = endpoint.calls
  t.same(seen!.params, { token, token_type_hint: 'access_token' })
  t.match(seen!.headers['content-type'], /^application\/x-www-form-urlencoded/)
  t.equal(seen!.headers['accept'], 'application/json')
  const basic = Buffer.from(String(seen!.headers['authorization']).replace(/^Basic /, ''), 'base64').toString()
  t.equal(basic, 'api%3Ars:p%40ss+word', 'client_secret_basic, credentials form-url-encoded (RFC 6749 2.3.1)')
})

const refusals: Array<[string, Record<string, unknown> | string, RegExp]> = [
  ['active false', { active: false }, /not active/],
  ['active "true" (a string)', { active: 'true', sub: 'alice', aud: API_AUDIENCE }, /not active/],
  ['active missing', { sub: 'alice', aud: API_AUDIENCE }, /not active/],
  ['not an object', 'null', /not active/],
  ['expired', { active: true, sub: 'alice', aud: API_AUDIENCE, exp: Math.floor(Date.now() / 1000) - 120 }, /expired/],
  ['exp not a number', { active: true, sub: 'alice', aud: API_AUDIENCE, exp: 'soon' }, /expired/],
  ['another issuer', { active: true, sub: 'alice', aud: API_AUDIENCE, iss: 'https://evil.example' }, /the iss claim/],
  ['another audience', { active: true, sub: 'alice', aud: 'https://other.example' }, /the aud claim/],
  ['no audience (a refresh token at oidc-provider)', { active: true, sub: 'alice' }, /the aud claim/],
  ['a refresh token type', { active: true, sub: 'alice', aud: API_AUDIENCE, token_type: 'refresh_token' }, /not a bearer access token/],
  ['a DPoP-bound token', { active: true, sub: 'alice', aud: API_AUDIENCE, token_type: 'DPoP' }, /not a bearer access token/],
  ['no subject nor client_id', { active: true, aud: API_AUDIENCE }, /no subject/],
  ['an empty sub and no client_id', { active: true, sub: '', aud: API_AUDIENCE }, /the sub claim/],
  ['an empty sub, with a client_id', { active: true, sub: '', client_id: 'batch-job', aud: API_AUDIENCE }, /the sub claim/],
  ['a numeric sub, with a client_id', { active: true, sub: 42, client_id: 'batch-job', aud: API_AUDIENCE }, /the sub claim/],
  ['a null sub, with a client_id', { active: true, sub: null, client_id: 'batch-job', aud: API_AUDIENCE }, /the sub claim/]
]

t.test('unacceptable answers: 401 invalid_token', async (t) => {
  const { endpoint, api } = await setup(t)
  for (const [name, body, reason] of refusals) {
    endpoint.answer = () => ({ body })
    const res = await call(api, opaque())
    t.equal(res.status, 401, name)
    t.equal(res.body['code'], 'FST_OIDC_TOKEN_INVALID', name)
    t.match(res.headers.get('www-authenticate'), /^Bearer realm="[^"]+", error="invalid_token"/, name)
    t.match(res.headers.get('www-authenticate'), reason, name)
  }
  t.equal(endpoint.calls.length, refusals.length, 'each token introspected once')
})

t.test('a client token without sub: its client_id is the subject', async (t) => {
  const { endpoint, api } = await setup(t)
  endpoint.answer = () => ({ body: { active: true, client_id: 'batch-job', aud: API_AUDIENCE, scope: 'api:read' } })
  const res = await call(api, opaque())
  t.equal(res.status, 200)
  t.match(res.body, { user: { sub: 'batch-job', client_id: 'batch-job' }, expiresAt: null })
})

const failures: Array<[string, (endpoint: IntrospectionEndpoint) => void]> = [
  ['HTTP 500', (e) => { e.answer = () => ({ status: 500, body: { error: 'server_error' } }) }],
  ['HTTP 401 (the API\'s credentials refused)', (e) => { e.answer = () => ({ status: 401, body: { error: 'invalid_client' } }) }],
  ['not JSON', (e) => { e.answer = () => ({ body: '<html>proxy error</html>' }) }],
  ['connection reset', (e) => { e.answer = () => ({ destroy: true }) }],
  ['too slow (beyond httpTimeout)', (e) => { e.answer = () => ({ delayMs: 1500 }) }]
]

t.test('the endpoint failing: 503 with Retry-After, never 401', async (t) => {
  const { endpoint, api } = await setup(t)
  for (const [name, script] of failures) {
    script(endpoint)
    const res = await call(api, opaque())
    t.equal(res.status, 503, name)
    t.equal(res.body['code'], 'FST_OIDC_VERIFIER_UNAVAILABLE', name)
    t.equal(res.headers.get('retry-after'), '10', name)
    t.equal(res.headers.get('www-authenticate'), null, `${name}: no challenge`)
    t.same(Object.keys(res.body).sort(), ['code', 'error', 'message', 'statusCode'])
  }
})

t.test('the endpoint unreachable: 503', async (t) => {
  const { endpoint, api } = await setup(t, { introspectionEndpoint: 'http://127.0.0.1:9/introspect' })
  const res = await call(api, opaque())
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '10')
  t.equal(endpoint.calls.length, 0)
})

t.test('cache: an active answer is reused, under a hash of the token', async (t) => {
  const { endpoint, api } = await setup(t)
  const token = opaque()
  t.equal((await call(api, token)).status, 200)
  t.equal((await call(api, token)).status, 200)
  t.equal(endpoint.calls.length, 1, 'the second request does not reach the endpoint')
  t.equal((await call(api, opaque())).status, 200)
  t.equal(endpoint.calls.length, 2, 'another token is introspected')
  t.notOk(api.logs.some((line) => line.includes(token)), 'the token is never logged')
})

t.test('cache: an entry never outlives the token exp', async (t) => {
  const { endpoint, api } = await setup(t, { clockTolerance: 0, introspectionCacheTtl: 3600 })
  const token = opaque()
  const exp = Math.floor(Date.now() / 1000) + 2
  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: API_AUDIENCE, exp } })
  t.equal((await call(api, token)).status, 200)
  t.equal((await call(api, token)).status, 200)
  t.equal(endpoint.calls.length, 1, 'cached while valid')
  await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 100))
  const after = await call(api, token)
  t.equal(endpoint.calls.length, 2, 'past exp the cache entry is gone: introspected again')
  t.equal(after.status, 401, 'and the answer is expired')
})

t.test('cache: a ttl of 0 disables it', async (t) => {
  const { endpoint, api } = await setup(t, { introspectionCacheTtl: 0 })
  const token = opaque()
  await call(api, token)
  await call(api, token)
  t.equal(endpoint.calls.length, 2)
})

t.test('without introspection, an opaque token is refused', async (t) => {
  const endpoint = await startIntrospectionEndpoint(t)
  const api = await buildResourceServer(t, { issuer: endpoint.url, audience: API_AUDIENCE, jwksUri: `${endpoint.url}/jwks` })
  const res = await call(api, opaque())
  t.equal(res.status, 401)
  t.equal(res.body['code'], 'FST_OIDC_TOKEN_INVALID')
  t.match(res.headers.get('www-authenticate'), /introspection is not configured/)
  t.equal(endpoint.calls.length, 0)
})
