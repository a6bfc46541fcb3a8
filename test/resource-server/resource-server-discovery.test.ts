// Where oidcResourceServer finds the JWKS and the introspection endpoint:
// configured, or discovered from the issuer (or OIDC_DISCOVERY_URL) at
// register(); wrong metadata is a coded error at start-up, never a hang nor a
// failure at the first request; metadata that cannot be had is retried in the
// background (see discovery-background.test.ts).
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { oidcResourceServer, type OidcResourceServerOptions } from '../../lib/index.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, startIntrospectionEndpoint } from '../helpers/resource-server.js'

/** Registers the plugin alone and returns the error register() failed with. */
async function registerError (t: Test, options: OidcResourceServerOptions): Promise<{ code?: string, message: string }> {
  const app = Fastify()
  t.teardown(() => app.close())
  try {
    await app.register(oidcResourceServer, { env: {}, audience: API_AUDIENCE, httpTimeout: 300, ...options })
    await app.ready()
  } catch (err) {
    return err as { code?: string, message: string }
  }
  t.fail('register() succeeded')
  return { message: '' }
}

async function bearer (url: string, token: string): Promise<number> {
  return (await fetch(`${url}/api`, { headers: { authorization: `Bearer ${token}` } })).status
}

const discoveryRequests = (op: HostileOp): number => op.requests('/.well-known/openid-configuration').length

t.test('the JWKS is discovered from the issuer', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE })
  t.equal(discoveryRequests(op), 1, 'discovery at register()')
  t.equal(await bearer(api.url, await signAccessToken(op)), 200)
  t.equal(op.requests('/jwks').length, 1)
})

t.test('a configured JWKS URI needs no discovery', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, env: { OIDC_JWKS_URI: op.url('/jwks') } })
  t.equal(discoveryRequests(op), 0)
  t.equal(await bearer(api.url, await signAccessToken(op)), 200)
})

t.test('introspection: the discovered endpoint is used, the configured JWKS URI kept', async (t) => {
  const op = await startHostileOp(t)
  const endpoint = await startIntrospectionEndpoint(t)
  op.metadata.introspection_endpoint = `${endpoint.url}/introspect`
  op.metadata.jwks_uri = 'https://unused.example.test/jwks'
  const api = await buildResourceServer(t, {
    issuer: op.issuer,
    audience: API_AUDIENCE,
    jwksUri: op.url('/jwks'),
    env: { OIDC_INTROSPECT: 'true', OIDC_CLIENT_ID: 'api', OIDC_CLIENT_SECRET: 'secret' }
  })
  t.equal(discoveryRequests(op), 1)
  t.equal(await bearer(api.url, 'an-opaque-token'), 200)
  t.equal(endpoint.calls.length, 1, 'introspected at the endpoint of another origin, as discovered')
  t.equal(await bearer(api.url, await signAccessToken(op)), 200, 'JWTs with the configured JWKS')
})

t.test('introspection with a configured endpoint: the JWKS is still discovered', async (t) => {
  const op = await startHostileOp(t)
  const endpoint = await startIntrospectionEndpoint(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, introspectionEndpoint: `${endpoint.url}/introspect`, clientId: 'api', clientSecret: 's' })
  t.equal(discoveryRequests(op), 1)
  t.equal(await bearer(api.url, 'an-opaque-token'), 200)
  t.equal(await bearer(api.url, await signAccessToken(op)), 200)
})

t.test('split horizon: public issuer, metadata fetched from OIDC_DISCOVERY_URL, endpoints moved there', async (t) => {
  const op = await startHostileOp(t)
  const publicIssuer = 'https://idp.example.test'
  op.metadata.issuer = publicIssuer
  op.metadata.jwks_uri = `${publicIssuer}/jwks`
  const api = await buildResourceServer(t, { issuer: publicIssuer, audience: API_AUDIENCE, env: { OIDC_DISCOVERY_URL: op.issuer } })
  t.equal(await bearer(api.url, await signAccessToken(op, { iss: publicIssuer })), 200)
  t.equal(op.requests('/jwks').length, 1, 'the keys were fetched from the internal origin')
})

t.test('http endpoints: loopback only, unless allowHttp', async (t) => {
  const op = await startHostileOp(t)
  op.metadata.jwks_uri = 'http://keys.example.test/jwks'
  const err = await registerError(t, { issuer: op.issuer })
  t.equal(err.code, 'FST_OIDC_DISCOVERY_FAILED')
  t.match(err.message, /jwks_uri is not an https URL/)

  op.metadata.jwks_uri = 'ftp://keys.example.test/jwks'
  t.match((await registerError(t, { issuer: op.issuer, allowHttp: true })).message, /jwks_uri is not an https URL/, 'not http(s) at all')

  op.metadata.jwks_uri = 'http://keys.example.test/jwks'
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(oidcResourceServer, { env: { OIDC_ALLOW_HTTP: 'true' }, issuer: op.issuer, audience: API_AUDIENCE })
  await app.ready()
  t.pass('accepted with OIDC_ALLOW_HTTP=true')
})

t.test('an IdP that cannot be reached or answers no metadata does not fail register(): tokens get 503', async (t) => {
  const started = async (issuer: string, code: string): Promise<void> => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(oidcResourceServer, { env: {}, issuer, audience: API_AUDIENCE, httpTimeout: 300 })
    app.get('/api', { preHandler: app.requireBearer() }, async () => 'ok')
    const res = await app.inject({ url: '/api', headers: { authorization: 'Bearer a.b.c' } })
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, code)
    t.match(res.headers['retry-after'], /^[1-9]\d*$/)
  }
  await started('http://127.0.0.1:9', 'FST_OIDC_VERIFIER_UNAVAILABLE')
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ delayMs: 2000 })
  await started(op.issuer, 'FST_OIDC_VERIFIER_UNAVAILABLE')
  op.onDiscovery = () => ({ status: 404, body: { error: 'not_found' } })
  await started(op.issuer, 'FST_OIDC_PROVIDER_MISCONFIGURED')
  op.onDiscovery = () => ({ body: 'null', headers: { 'content-type': 'application/json' } })
  await started(op.issuer, 'FST_OIDC_PROVIDER_MISCONFIGURED')
})

t.test('wrong metadata: FST_OIDC_DISCOVERY_FAILED at register()', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = (defaults) => ({ body: { ...defaults, issuer: 'https://evil.example' } })
  t.match(await registerError(t, { issuer: op.issuer }), { code: 'FST_OIDC_DISCOVERY_FAILED', message: /not the metadata of the configured issuer/ }, 'another issuer')

  op.onDiscovery = (defaults) => ({ body: { ...defaults, jwks_uri: undefined } })
  t.match(await registerError(t, { issuer: op.issuer }), { code: 'FST_OIDC_DISCOVERY_FAILED', message: /no jwks_uri/ }, 'no jwks_uri')

  op.onDiscovery = undefined
  t.match(await registerError(t, { issuer: op.issuer, introspect: true, clientId: 'api', clientSecret: 's' }), { code: 'FST_OIDC_DISCOVERY_FAILED', message: /no introspection_endpoint/ }, 'introspection on, no endpoint')
})
