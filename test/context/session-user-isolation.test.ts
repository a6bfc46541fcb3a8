// request.oidc.user of a session is the request's own copy: a handler that
// changes it (roles, sub, nested claims) changes nothing for the next request
// of the same session, which is served from the shared opened-session cache.
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

t.test('a handler mutating request.oidc.user does not change the session for later requests', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const app = await buildApp(t, {
    port,
    issuer: idp.issuer,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    routes: (app) => {
      app.get('/tamper', { preHandler: app.requireAuth() }, async (request) => {
        const user = request.oidc.user!
        user['roles'] = ['admin']
        user.sub = 'someone-else'
        return { sub: request.oidc.user?.sub, roles: request.oidc.roles }
      })
      app.get('/admin', { preHandler: app.requireAuth({ roles: ['admin'] }) }, async () => ({ ok: true }))
    }
  })
  const browser = new Browser()
  await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/public`)
  const tampered = await browser.get(`${app.baseUrl}/tamper`, { accept: 'application/json' })
  t.same(JSON.parse(tampered.body), { sub: 'someone-else', roles: ['admin'] }, 'the handler sees its own changes')
  t.same(JSON.parse((await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })).body), { sub: 'demo', roles: ['user'] }, 'the next request does not')
  t.equal((await browser.get(`${app.baseUrl}/admin`, { accept: 'application/json' })).status, 403, 'no role was granted')
})
