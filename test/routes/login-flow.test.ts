import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

t.test('a full login against oidc-provider creates a sealed session', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl, events } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  const final = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200)
  t.equal(final.url, `${baseUrl}/private`)
  t.same(JSON.parse(final.body), { sub: 'demo', roles: ['user'] })
  const session = await browser.get(`${baseUrl}/auth/session`)
  const body = JSON.parse(session.body)
  t.equal(body.authenticated, true)
  t.equal(body.user.sub, 'demo')
  t.type(body.expiresAt, 'number')
  t.equal(body.user.email, 'demo@example.com')
  for (const claim of ['nonce', 'at_hash', 'c_hash']) t.notOk(claim in body.user, `no protocol-only ${claim} in the user's claims`)
  t.same(events.map((e) => e.type), ['login'])
})
