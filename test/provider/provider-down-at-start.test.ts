// An IdP that is down when the app starts does not stop it from starting:
// /auth/login answers 503 FST_OIDC_PROVIDER_UNAVAILABLE with Retry-After while
// discovery is retried in the background, and logins work as soon as the IdP is
// up — without a restart. A session opened before the outage keeps working where
// it can (its access token is still valid); what needs the IdP answers 503.
// Bearer tokens accepted by the relying party are verified once the IdP is back.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { startDevIdp } from '../../example-app/dev-idp.js'
import { MemoryStore } from '../../lib/index.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort, startProvider } from '../helpers/provider.js'

/** Asks /auth/login until it redirects (the provider was discovered), at most `seconds`. */
async function loginRedirects (app: TestApp, seconds = 45): Promise<boolean> {
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline;) {
    if ((await fetch(`${app.baseUrl}/auth/login`, { redirect: 'manual' })).status === 302) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return false
}

t.test('down at start, up later: 503 with Retry-After, then a login works without a restart', async (t) => {
  const [appPort, idpPort] = [await freePort(), await freePort()]
  const app = await buildApp(t, { port: appPort, issuer: `http://127.0.0.1:${idpPort}`, clientId: 'test-app', clientSecret: 'test-secret' })

  const login = await fetch(`${app.baseUrl}/auth/login`, { redirect: 'manual', headers: { accept: 'application/json' } })
  t.equal(login.status, 503)
  t.match(login.headers.get('retry-after'), /^[1-9]\d*$/, 'says when to try again')
  t.match(await login.json(), { code: 'FST_OIDC_PROVIDER_UNAVAILABLE', message: /"default" is not available yet/ })
  t.equal((await fetch(`${app.baseUrl}/public`)).status, 200, 'the app serves everything else')
  t.ok(app.logs.some((l) => l.includes('retrying discovery')), 'the outage is logged')

  await startProvider(t, { port: idpPort, appBaseUrl: app.baseUrl })
  t.ok(await loginRedirects(app), 'discovered in the background')
  const final = await loginAtProvider(new Browser(), `${app.baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.url, `${app.baseUrl}/private`)
  t.same(JSON.parse(final.body), { sub: 'demo', roles: ['user'] })
})

t.test('a session opened before the outage: requireAuth works, refresh and login answer 503, logout is local', async (t) => {
  const store = new MemoryStore()
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const idp = await startDevIdp({
    clients: [{ client_id: 'test-app', client_secret: 'test-secret', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${baseUrl}/auth/callback`], post_logout_redirect_uris: [`${baseUrl}/`] }]
  })
  const options = { port, issuer: idp.issuer, clientId: 'test-app', clientSecret: 'test-secret', sessionStore: store }
  const before = await buildApp(t, options)
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  await before.app.close()
  await idp.close()

  const after = await buildApp(t, options)
  const page = await browser.get(`${baseUrl}/private`, { accept: 'application/json' })
  t.equal(page.status, 200, 'the session still opens')
  t.equal(JSON.parse(page.body).sub, 'demo')
  const refresh = await browser.post(`${baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  t.equal(refresh.status, 503)
  t.match(refresh.headers.get('retry-after'), /^\d+$/)
  t.match(JSON.parse(refresh.body), { code: 'FST_OIDC_PROVIDER_UNAVAILABLE' })
  t.same(after.events.map((e) => [e.type, e.reason]), [['refresh_failure', 'provider_unavailable']])
  t.equal((await browser.get(`${baseUrl}/private`, { accept: 'application/json' })).status, 200, 'the session was not ended')
  const logout = await browser.request('POST', `${baseUrl}/auth/logout`)
  t.equal(logout.headers.get('location'), `${baseUrl}/`, 'the IdP\'s end-session endpoint is not known: local logout')
  t.ok(after.logs.some((l) => l.includes('refresh token revocation failed')), 'the revocation that could not be made is logged')
})

t.test('bearer tokens in the relying party: 503 until the IdP is back, then verified', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 503, body: 'starting' })
  const routes = (app: FastifyInstance): void => {
    app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
  }
  const app = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, resourceServer: { audience: 'api' }, routes })
  const now = Math.floor(Date.now() / 1000)
  const token = await op.signIdToken({ iss: op.issuer, sub: 'svc', aud: 'api', client_id: 'svc', exp: now + 300, iat: now, jti: 'j1' }, { typ: 'at+jwt' })
  const call = async (): Promise<Response> => await fetch(`${app.baseUrl}/api`, { headers: { authorization: `Bearer ${token}` } })

  const down = await call()
  t.equal(down.status, 503)
  t.match(await down.json(), { code: 'FST_OIDC_VERIFIER_UNAVAILABLE' })
  t.match(down.headers.get('retry-after'), /^[1-9]\d*$/)
  op.onDiscovery = undefined
  // Discovered in the background, with back-off: ask until verified (at most 45 s).
  let up = await call()
  for (const deadline = Date.now() + 45_000; up.status !== 200 && Date.now() < deadline; up = await call()) await new Promise((resolve) => setTimeout(resolve, 250))
  t.equal(up.status, 200)
  t.same(await up.json(), { sub: 'svc' })
})
