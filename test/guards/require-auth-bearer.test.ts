// `requireAuth({ accept: ['session', 'bearer'] })` in the relying-party plugin,
// with its `resourceServer` option (or OIDC_AUDIENCE): a request carrying
// `Authorization: Bearer` is judged by that token alone — the real dev IdP's
// RFC 9068 access token passes, a forged one gets RFC 6750 answers — while
// browsers keep using their session. A verified caller's own token is relayed
// by request.oidc.fetch to the allow-listed downstreams only.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, type BuildAppOptions, type TestApp } from '../helpers/build-app.js'
import { startDownstream, type Downstream } from '../helpers/downstream.js'
import { recordIssuedTokens, type IssuedTokens } from '../helpers/issued-tokens.js'
import { freePort, startProvider, type TestProvider } from '../helpers/provider.js'

const AUDIENCE = 'https://api.example.test'

function routes (downstream: Downstream) {
  return (app: FastifyInstance): void => {
    const who = async (request: FastifyRequest): Promise<unknown> =>
      ({ via: request.oidc.via, sub: request.oidc.user?.sub, scopes: request.oidc.scopes })
    app.get('/api/me', { preHandler: app.requireAuth({ accept: ['session', 'bearer'], scopes: ['api:read'] }) }, who)
    app.get('/api/write', { preHandler: app.requireAuth({ accept: ['session', 'bearer'], scopes: ['api:write'] }) }, who)
    app.get('/api/bearer-only', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, who)
    app.get('/api/admin', { preHandler: app.requireAuth({ accept: ['bearer'], roles: ['admin'] }) }, who)
    app.get<{ Querystring: { to?: string } }>('/api/relay', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request, reply) => {
      try {
        const res = await request.oidc.fetch(request.query.to ?? `${downstream.origin}/data`)
        return { status: res.status, headers: await request.oidc.forwardHeaders() }
      } catch (err) {
        const { code, statusCode } = err as { code: string, statusCode: number }
        return await reply.code(statusCode).send({ code })
      }
    })
  }
}

interface Setup extends TestApp {
  idp: TestProvider
  issued: IssuedTokens[]
  downstream: Downstream
  browser: Browser
}

async function setup (t: Test, app: Partial<BuildAppOptions> = { resourceServer: { audience: AUDIENCE } }): Promise<Setup> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, jwtAccessTokens: { audience: AUDIENCE, scope: 'api:read api:write' } })
  const issued = recordIssuedTokens(idp)
  const downstream = await startDownstream(t, (request) => request.url === '/refuse' ? { status: 401 } : undefined)
  const built = await buildApp(t, {
    port,
    issuer: idp.issuer,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    scope: 'openid profile email api:read',
    downstreams: [downstream.origin],
    routes: routes(downstream),
    ...app
  })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${built.baseUrl}/auth/login?returnTo=/public`)
  if (login.url !== `${built.baseUrl}/public`) throw new Error(`login failed: ${login.status} ${login.url}`)
  return { ...built, idp, issued, downstream, browser }
}

async function call (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any, challenge: string | null }> {
  const res = await fetch(url, { headers: { accept: 'application/json', ...headers } })
  return { status: res.status, body: await res.json(), challenge: res.headers.get('www-authenticate') }
}

t.test('the IdP\'s access token as a Bearer: via bearer, its sub and scopes; the browser keeps its session', async (t) => {
  const s = await setup(t)
  const token = s.issued[0]!.accessToken
  t.same(await call(`${s.baseUrl}/api/me`, { authorization: `Bearer ${token}` }),
    { status: 200, body: { via: 'bearer', sub: 'demo', scopes: ['api:read'] }, challenge: null })
  const session = await s.browser.get(`${s.baseUrl}/api/me`, { accept: 'application/json' })
  t.same({ status: session.status, body: JSON.parse(session.body) }, { status: 200, body: { via: 'session', sub: 'demo', scopes: ['api:read'] } }, 'the scopes the IdP granted for the API')
})

t.test('no credentials: 401 with a Bearer challenge; a browser navigation goes to login unless the route is bearer-only', async (t) => {
  const s = await setup(t)
  const none = await call(`${s.baseUrl}/api/me`)
  t.equal(none.status, 401)
  t.equal(none.body.code, 'FST_OIDC_UNAUTHENTICATED')
  t.equal(none.challenge, `Bearer realm="${AUDIENCE}"`)
  const navigation = await fetch(`${s.baseUrl}/api/me`, { headers: { accept: 'text/html' }, redirect: 'manual' })
  t.equal(navigation.status, 302)
  t.equal(navigation.headers.get('location'), '/auth/login?returnTo=%2Fapi%2Fme')
  t.equal(navigation.headers.get('www-authenticate'), null, 'a redirect carries no challenge')
  const bearerOnly = await fetch(`${s.baseUrl}/api/bearer-only`, { headers: { accept: 'text/html' }, redirect: 'manual' })
  t.equal(bearerOnly.status, 401, 'a bearer-only route never redirects')
  t.equal(bearerOnly.headers.get('www-authenticate'), `Bearer realm="${AUDIENCE}"`)
  const withSession = await s.browser.get(`${s.baseUrl}/api/bearer-only`, { accept: 'application/json' })
  t.equal(withSession.status, 401, 'a session does not open a bearer-only route')
})

t.test('a forged or malformed Bearer is refused even with a valid session cookie (RFC 6750)', async (t) => {
  const s = await setup(t)
  const token = s.issued[0]!.accessToken
  const [header, payload] = token.split('.')
  const forged = `${header}.${payload}.${'A'.repeat(342)}`
  const cookie = `oidc.sid=${(await s.browser.cookies(s.baseUrl))['oidc.sid']}`
  const bad = await call(`${s.baseUrl}/api/me`, { authorization: `Bearer ${forged}`, cookie })
  t.equal(bad.status, 401)
  t.equal(bad.body.code, 'FST_OIDC_TOKEN_INVALID')
  t.match(bad.challenge, /^Bearer realm="https:\/\/api\.example\.test", error="invalid_token"/)
  const empty = await call(`${s.baseUrl}/api/me`, { authorization: 'Bearer ', cookie })
  t.equal(empty.status, 400)
  t.match(empty.challenge, /error="invalid_request"/)
  const idToken = await call(`${s.baseUrl}/api/me`, { authorization: `Bearer ${s.issued[0]!.idToken!}` })
  t.equal(idToken.status, 401, 'the ID token is not an access token')
  t.notMatch(JSON.stringify([bad, empty, idToken]), token.split('.')[2]!, 'no token in any answer')
})

t.test('scopes and roles: 403 insufficient_scope for a bearer, 403 for a session; roles from the token', async (t) => {
  const s = await setup(t)
  const token = s.issued[0]!.accessToken
  const scope = await call(`${s.baseUrl}/api/write`, { authorization: `Bearer ${token}` })
  t.equal(scope.status, 403)
  t.equal(scope.body.code, 'FST_OIDC_INSUFFICIENT_SCOPE')
  t.match(scope.challenge, /error="insufficient_scope".*scope="api:write"/)
  const session = await s.browser.get(`${s.baseUrl}/api/write`, { accept: 'application/json' })
  t.equal(session.status, 403)
  t.equal(JSON.parse(session.body).code, 'FST_OIDC_FORBIDDEN')
  const admin = await call(`${s.baseUrl}/api/admin`, { authorization: `Bearer ${token}` })
  t.equal(admin.status, 403, 'the access token carries no admin role')
  t.equal(admin.body.code, 'FST_OIDC_FORBIDDEN')
})

t.test('a bearer caller\'s token is relayed to allow-listed downstreams only, and a downstream 401 is final', async (t) => {
  const s = await setup(t)
  const token = s.issued[0]!.accessToken
  const auth = { authorization: `Bearer ${token}`, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }
  const relayed = await call(`${s.baseUrl}/api/relay`, auth)
  t.same(relayed.body, { status: 200, headers: { traceparent: auth.traceparent } })
  t.equal(s.downstream.requests[0]?.headers.authorization, `Bearer ${token}`, 'the caller\'s own token')
  t.equal(s.downstream.requests[0]?.headers.traceparent, auth.traceparent)

  const other = await startDownstream(t)
  const denied = await call(`${s.baseUrl}/api/relay?to=${encodeURIComponent(`${other.origin.replace('127.0.0.1', 'localhost')}/x`)}`, auth)
  t.same(denied, { status: 500, body: { code: 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED' }, challenge: null })
  t.equal(other.connections, 0, 'nothing was sent')

  const refused = await call(`${s.baseUrl}/api/relay?to=${encodeURIComponent(`${s.downstream.origin}/refuse`)}`, auth)
  t.same(refused.body, { code: 'FST_OIDC_DOWNSTREAM_UNAUTHORIZED' })
  t.equal(s.downstream.requests.filter((r) => r.url === '/refuse').length, 1, 'no retry: a bearer caller\'s token cannot be refreshed')
  t.equal(s.idp.countGrants('refresh_token'), 0)
})

t.test('OIDC_AUDIENCE alone enables bearer tokens; a token for another audience is refused', async (t) => {
  const s = await setup(t, { env: { OIDC_AUDIENCE: AUDIENCE } })
  t.equal((await call(`${s.baseUrl}/api/bearer-only`, { authorization: `Bearer ${s.issued[0]!.accessToken}` })).status, 200)
  const wrong = await setup(t, { resourceServer: { audience: 'https://another.example.test' } })
  const res = await call(`${wrong.baseUrl}/api/bearer-only`, { authorization: `Bearer ${wrong.issued[0]!.accessToken}` })
  t.equal(res.status, 401, 'a token for another audience is refused')
  t.equal(res.body.code, 'FST_OIDC_TOKEN_INVALID')
})
