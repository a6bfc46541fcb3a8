// Discovery at register(): issuer check, unusable metadata, time-out, endpoint
// overrides, the http rule for discovered endpoints and split-horizon
// (OIDC_DISCOVERY_URL) deployments, against the scriptable hostile OP. Wrong
// metadata fails register(); metadata that cannot be had does not: the app
// starts, /auth/login answers 503 and the reason is logged (see
// provider-down-at-start.test.ts for the recovery).
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import fastifyOidc, { type FastifyOidcOptions } from '../../lib/index.js'
import { Browser } from '../helpers/browser.js'
import { buildApp, SESSION_SECRET } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

interface RegisterError { code?: string, message: string }

/** Registers the plugin against `op` and resolves to the start-up error, or null when it started. */
async function startUp (t: Test, op: HostileOp, options: FastifyOidcOptions = {}): Promise<RegisterError | null> {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(fastifyOidc, {
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret ?? undefined,
    baseUrl: 'http://127.0.0.1:3000',
    sessionSecret: SESSION_SECRET,
    env: {},
    ...options
  })
  return await app.ready().then(() => null, (err: unknown) => err as RegisterError)
}

/**
 * The app starts although the metadata cannot be had: /auth/login answers 503
 * FST_OIDC_PROVIDER_UNAVAILABLE with Retry-After. Resolves to the log lines.
 */
async function unavailable (t: Test, op: HostileOp, options: FastifyOidcOptions = {}, code = 'FST_OIDC_PROVIDER_UNAVAILABLE'): Promise<string> {
  const logs: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { logs.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(fastifyOidc, {
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret ?? undefined,
    baseUrl: 'http://127.0.0.1:3000',
    sessionSecret: SESSION_SECRET,
    env: {},
    ...options
  })
  const login = await app.inject('/auth/login')
  t.equal(login.statusCode, 503)
  t.equal(login.json().code, code)
  t.match(login.headers['retry-after'], /^\d+$/)
  return logs.join('\n')
}

async function discoveryFailure (t: Test, op: HostileOp, options: FastifyOidcOptions = {}): Promise<string> {
  const err = await startUp(t, op, options)
  t.equal(err?.code, 'FST_OIDC_DISCOVERY_FAILED')
  return err?.message ?? ''
}

t.test('a metadata issuer other than the configured one fails register()', async (t) => {
  const op = await startHostileOp(t)
  op.metadata.issuer = 'http://127.0.0.1:1/impostor'
  t.match(await discoveryFailure(t, op), /the metadata issuer "http:\/\/127\.0\.0\.1:1\/impostor" is not the configured issuer/)
  op.metadata.issuer = op.issuer
  t.match(await discoveryFailure(t, op, { issuer: `${op.issuer}/` }), /is not the configured issuer/, 'compared exactly (trailing slash)')
  t.equal(await startUp(t, op), null, 'the matching issuer starts')
  t.equal(op.requests('/.well-known/openid-configuration').length, 3)
})

t.test('an unreachable IdP does not fail register(): login answers 503', async (t) => {
  const op = await startHostileOp(t)
  await op.stop()
  const logs = await unavailable(t, op)
  t.match(logs, /is not available \(OpenID Provider discovery failed: http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration could not be fetched: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+\), retrying discovery in 1 s/, 'the URL and the cause, not only "fetch failed"')
})

t.test('an HTTP error, a redirect, non-JSON or a non-metadata document: the app starts, login answers 503 (unavailable or misconfigured)', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 500, body: { error: 'boom' } })
  t.match(await unavailable(t, op), /\/\.well-known\/openid-configuration answered HTTP 500/)

  op.onDiscovery = () => ({ status: 302, headers: { location: op.url('/elsewhere') } })
  t.ok(await unavailable(t, op), 'a redirect is not followed')
  t.equal(op.requests('/elsewhere').length, 0)

  const misconfigured = 'FST_OIDC_PROVIDER_MISCONFIGURED'
  op.onDiscovery = () => ({ body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } })
  t.match(await unavailable(t, op, {}, misconfigured), /FST_OIDC_DISCOVERY_FAILED/)

  op.onDiscovery = () => ({ body: 'null', headers: { 'content-type': 'application/json' } })
  t.match(await unavailable(t, op, {}, misconfigured), /did not return an OpenID Provider metadata document/)

  op.onDiscovery = () => ({ body: [op.issuer] })
  t.match(await unavailable(t, op, {}, misconfigured), /did not return an OpenID Provider metadata document/)
})

t.test('a discovery slower than httpTimeout: register() goes on after about the time-out', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ delayMs: 5000 })
  const started = Date.now()
  t.match(await unavailable(t, op, { httpTimeout: 200 }), /did not answer within 200 ms/)
  t.ok(Date.now() - started < 2000, 'gave up after about httpTimeout')
})

t.test('metadata without a required endpoint fails unless an override gives it', async (t) => {
  const op = await startHostileOp(t)
  delete op.metadata.token_endpoint
  delete op.metadata.jwks_uri
  t.match(await discoveryFailure(t, op), /the metadata has no token_endpoint, jwks_uri and no override was configured/)
  t.equal(await startUp(t, op, { endpoints: { token: op.url('/token'), jwks: op.url('/jwks') } }), null)
})

t.test('discovered http endpoints on a non-loopback host are refused unless allowHttp', async (t) => {
  const op = await startHostileOp(t)
  op.metadata.token_endpoint = 'http://idp.example.test/token'
  t.match(await discoveryFailure(t, op), /token_endpoint "http:\/\/idp\.example\.test\/token" is not an https URL/)
  t.equal(await startUp(t, op, { allowHttp: true }), null, 'accepted with allowHttp')

  op.metadata.token_endpoint = op.url('/token')
  op.metadata.authorization_endpoint = 'javascript:alert(1)'
  t.match(await discoveryFailure(t, op, { allowHttp: true }), /authorization_endpoint "javascript:alert\(1\)" is not an https URL/, 'never another scheme')

  op.metadata.authorization_endpoint = op.url('/authorize')
  op.metadata.userinfo_endpoint = 'https://idp.example.test/userinfo'
  t.equal(await startUp(t, op), null, 'https endpoints on any host are fine')
})

t.test('endpoint overrides win over discovered endpoints', async (t) => {
  const op = await startHostileOp(t)
  const port = await freePort()
  const { baseUrl } = await buildApp(t, {
    port,
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret ?? undefined,
    endpoints: { authorization: 'https://login.example.test/oauth/authorize?tenant=shop', endSession: 'https://login.example.test/bye' }
  })
  const login = await fetch(`${baseUrl}/auth/login`, { redirect: 'manual' })
  t.equal(login.status, 302)
  const location = new URL(login.headers.get('location') ?? '')
  t.equal(`${location.origin}${location.pathname}`, 'https://login.example.test/oauth/authorize')
  t.equal(location.searchParams.get('tenant'), 'shop', 'the override query is kept')
  t.equal(location.searchParams.get('client_id'), op.clientId)
  t.equal(location.searchParams.get('response_type'), 'code')

  const logout = await fetch(`${baseUrl}/auth/logout`, { redirect: 'manual' })
  t.equal(logout.status, 302)
  t.match(logout.headers.get('location'), /^https:\/\/login\.example\.test\/bye\?/)
})

t.test('split horizon: metadata from the discovery URL, browser endpoints on the public issuer', async (t) => {
  const op = await startHostileOp(t)
  const publicIssuer = `http://localhost:${op.port}`
  // The IdP knows itself by its public name and advertises public endpoints.
  op.metadata.issuer = publicIssuer
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'end_session_endpoint', 'revocation_endpoint'] as const) {
    op.metadata[key] = op.metadata[key]!.replace(op.issuer, publicIssuer)
  }
  op.onAuthorize = (_params, defaults) => ({ ...defaults, iss: publicIssuer })
  op.onToken = async (ctx) => ctx.error !== undefined
    ? undefined
    : { body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), iss: publicIssuer }) } }

  const port = await freePort()
  const { baseUrl, events } = await buildApp(t, {
    port,
    issuer: publicIssuer,
    discoveryUrl: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret ?? undefined
  })
  const discovery = op.requests('/.well-known/openid-configuration')
  t.equal(discovery.length, 1)
  t.equal(discovery[0]?.headers.host, `127.0.0.1:${op.port}`, 'metadata fetched from the discovery URL')

  const browser = new Browser()
  const start = await browser.get(`${baseUrl}/auth/login?returnTo=/private`)
  t.equal(start.status, 302)
  t.equal(new URL(start.hops[0]!.location!).origin, publicIssuer, 'the browser is sent to the public issuer')

  const final = await browser.continue(start)
  t.equal(final.status, 200)
  t.equal(final.url, `${baseUrl}/private`)
  t.same(JSON.parse(final.body), { sub: 'alice', roles: ['user'] })
  t.same(events.map((e) => e.type), ['login'])

  t.equal(op.requests('/authorize')[0]?.headers.host, `localhost:${op.port}`, 'authorize reached on the public origin')
  const token = op.requests('/token')
  const jwks = op.requests('/jwks')
  t.equal(token.length, 1)
  t.equal(token[0]?.headers.host, `127.0.0.1:${op.port}`, 'code exchanged on the discovery origin')
  t.ok(jwks.length >= 1)
  t.ok(jwks.every((r) => r.headers.host === `127.0.0.1:${op.port}`), 'JWKS fetched on the discovery origin')

  const logout = await browser.request('POST', `${baseUrl}/auth/logout`)
  t.equal(logout.status, 302)
  t.equal(new URL(logout.hops[0]!.location!).origin, publicIssuer, 'end-session on the public origin')
  t.equal(op.requests('/revoke')[0]?.headers.host, `127.0.0.1:${op.port}`, 'revocation on the discovery origin')
})

t.test('split horizon: internal endpoints in the metadata are moved to the public origin for the browser', async (t) => {
  const op = await startHostileOp(t)
  const publicIssuer = `http://localhost:${op.port}`
  op.metadata.issuer = publicIssuer // endpoints stay on the internal 127.0.0.1 origin
  const port = await freePort()
  const { baseUrl } = await buildApp(t, { port, issuer: publicIssuer, discoveryUrl: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret ?? undefined })
  const login = await fetch(`${baseUrl}/auth/login`, { redirect: 'manual' })
  t.match(login.headers.get('location'), new RegExp(`^${publicIssuer}/authorize\\?`))
  const logout = await fetch(`${baseUrl}/auth/logout`, { redirect: 'manual' })
  t.match(logout.headers.get('location'), new RegExp(`^${publicIssuer}/logout\\?`))
})

t.test('the metadata issuer must be the public issuer, not the discovery origin', async (t) => {
  const op = await startHostileOp(t)
  t.match(await discoveryFailure(t, op, { issuer: `http://localhost:${op.port}`, discoveryUrl: op.issuer }), /is not the configured issuer/)
})
