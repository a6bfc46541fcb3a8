// Step-up for the other kinds of caller of requireAuth: a Basic caller
// authenticates with the request itself (maxAge is always met; acr is what its
// authenticate result's claims say), and a session of a provider other than the
// default one is sent through login at its own provider.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { basic, startBasicApp } from '../helpers/basic.js'
import { Browser } from '../helpers/browser.js'
import { twoProviders } from '../helpers/two-providers.js'

const MFA = 'urn:example:mfa'

t.test('a Basic caller: maxAge is met by the request itself, acr by its claims', async (t) => {
  const users: Record<string, { sub: string, claims?: Record<string, unknown> }> = {
    robot: { sub: 'robot' },
    token: { sub: 'token', claims: { acr: MFA } }
  }
  const { call } = await startBasicApp(t, {
    authenticate: (username) => users[username] ?? null,
    routes: (app: FastifyInstance) => {
      app.get('/fresh', { preHandler: app.requireAuth({ accept: ['session', 'basic'], maxAge: 0 }) }, async (request) => ({ sub: request.oidc.user?.sub }))
      app.get('/mfa', { preHandler: app.requireAuth({ accept: ['basic'], acr: [MFA] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
    }
  })
  t.same(await call('/fresh', { authorization: basic('robot', 'x') }).then((r) => [r.status, r.body]), [200, { sub: 'robot' }])
  const refused = await call('/mfa', { authorization: basic('robot', 'x') })
  t.equal(refused.status, 401)
  t.equal(refused.body.code, 'FST_OIDC_STEP_UP_REQUIRED')
  t.equal(refused.headers.get('www-authenticate'), `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="${MFA}"`)
  t.same(await call('/mfa', { authorization: basic('token', 'x') }).then((r) => [r.status, r.body]), [200, { sub: 'token' }], 'claims with an accepted acr')
})

t.test('a session of the second provider steps up at that provider', async (t) => {
  const app = await twoProviders(t, {
    routes: (app: FastifyInstance) => {
      app.get('/mfa', { preHandler: app.requireAuth({ acr: [MFA] }) }, async (request) => ({ acr: request.oidc.user?.['acr'] }))
    }
  })
  const browser = new Browser()
  const login = await browser.follow(`${app.baseUrl}/auth/login?provider=b`)
  t.equal(login.url, `${app.baseUrl}/`, 'signed in at b')
  t.same(app.events.map((e) => [e.type, e.provider]), [['login', 'b']])
  const nav = await browser.get(`${app.baseUrl}/mfa`, { accept: 'text/html' })
  t.equal(nav.status, 302)
  t.equal(nav.headers.get('location'), `/auth/login?returnTo=%2Fmfa&acr_values=${encodeURIComponent(MFA)}&provider=b`)
})
