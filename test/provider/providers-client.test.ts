// Two providers in one app: `fastify.oidc.client(name)` for each, and everything a
// session does afterwards goes to the provider it was opened with — refresh,
// revocation and end-session at logout, its roles claim, back-channel logout
// tokens by their issuer. A session of a provider no longer configured is dropped.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { providerOf, twoProviders } from '../helpers/two-providers.js'

const EVENT = 'http://schemas.openid.net/event/backchannel-logout'

function routes (app: FastifyInstance): void {
  app.get<{ Params: { name: string } }>('/signin/:name', async (request, reply) => await app.oidc.client(request.params.name).authorizeRedirect(request, reply, { returnTo: '/private' }))
  app.get('/roles', async (request) => ({ roles: request.oidc.roles }))
}

t.test('fastify.oidc.client(name): each provider\'s client; no name: the default; unknown: FST_OIDC_UNKNOWN_PROVIDER', async (t) => {
  const setup = await twoProviders(t, { routes })
  const { oidc } = setup.app
  t.equal(oidc.client().name, 'a')
  t.equal(oidc.client('a'), oidc.client())
  t.equal(oidc.client('b').name, 'b')
  t.throws(() => oidc.client('c'), { code: 'FST_OIDC_UNKNOWN_PROVIDER', statusCode: 400 })

  const browser = new Browser()
  const res = await browser.follow(`${setup.baseUrl}/signin/b`)
  t.equal(res.url, `${setup.baseUrl}/private`, 'client(\'b\').authorizeRedirect completes at /auth/callback/b')
  t.equal(setup.b.requests('/token').length, 1)
  t.equal(setup.a.log.filter((r) => r.path !== '/.well-known/openid-configuration').length, 0)
})

t.test('a session of provider b: its roles claim, refresh, revocation and end-session at b', async (t) => {
  const setup = await twoProviders(t, { routes, b: { rolesClaim: 'groups' } })
  setup.b.user = { ...setup.b.user, groups: ['staff'] }
  const browser = new Browser()
  t.same(JSON.parse((await browser.get(`${setup.baseUrl}/roles`)).body), { roles: [] }, 'anonymous: no roles')
  await browser.follow(`${setup.baseUrl}/auth/login?provider=b`)
  t.same(JSON.parse((await browser.get(`${setup.baseUrl}/roles`)).body), { roles: ['staff'] }, 'b\'s roles claim')

  const refreshed = await browser.post(`${setup.baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  t.equal(refreshed.status, 200)
  t.same(setup.b.requests('/token').map((r) => r.body['grant_type']), ['authorization_code', 'refresh_token'])
  t.same(setup.a.requests('/token'), [], 'a never sees b\'s refresh token')

  const logout = await browser.request('POST', `${setup.baseUrl}/auth/logout`)
  t.match(logout.headers.get('location'), `${setup.b.issuer}/logout?`)
  t.equal(setup.b.requests('/revoke').length, 1)
  t.equal(setup.a.requests('/revoke').length, 0)
  t.same(setup.events.map((e) => [e.type, e.provider]), [['login', 'b'], ['refresh', 'b'], ['logout', 'b']])
})

t.test('back-channel logout: the token\'s iss and aud pick the provider whose keys verify it', async (t) => {
  const setup = await twoProviders(t)
  const [inA, inB] = [new Browser(), new Browser()]
  await inA.follow(`${setup.baseUrl}/auth/login?provider=a`)
  await inB.follow(`${setup.baseUrl}/auth/login?provider=b`)
  const logoutToken = async (signer: typeof setup.a, iss: string, jti: string): Promise<Response> => {
    const token = await signer.signIdToken({ iss, aud: signer.clientId, iat: Math.floor(Date.now() / 1000), jti, sub: 'alice', events: { [EVENT]: {} } }, { typ: 'logout+jwt' })
    return await fetch(`${setup.baseUrl}/auth/backchannel-logout`, { method: 'POST', body: new URLSearchParams({ logout_token: token }) })
  }
  const forged = await logoutToken(setup.b, setup.a.issuer, 'j1')
  t.equal(forged.status, 400, 'b\'s keys do not speak for a')
  const fromB = await logoutToken(setup.b, setup.b.issuer, 'j2')
  t.equal(fromB.status, 200)
  t.equal(JSON.parse((await inB.get(`${setup.baseUrl}/auth/session`)).body).authenticated, false, 'b\'s session of alice ended')
  t.equal(JSON.parse((await inA.get(`${setup.baseUrl}/auth/session`)).body).authenticated, true, 'a\'s alice is another user')
  t.same(setup.events.slice(2).map((e) => [e.type, e.provider, e.reason]), [['backchannel_logout_failure', 'a', 'logout_token_signature'], ['backchannel_logout', 'b', undefined]])
})

t.test('a session of a provider no longer configured does not open', async (t) => {
  const store = new MemoryStore()
  const setup = await twoProviders(t, { sessionStore: store })
  const browser = new Browser()
  await browser.follow(`${setup.baseUrl}/auth/login?provider=b`)
  t.equal(JSON.parse((await browser.get(`${setup.baseUrl}/auth/session`)).body).authenticated, true)
  await setup.app.close()
  const port = Number(new URL(setup.baseUrl).port)
  const again = await buildApp(t, { port, sessionStore: store, providers: [providerOf('a', setup.a)] })
  t.equal(JSON.parse((await browser.get(`${again.baseUrl}/auth/session`)).body).authenticated, false, 'b is gone: so is its session')
})
