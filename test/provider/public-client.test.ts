import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

t.test('a public client (no secret) logs in with PKCE only and sends no client secret', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, publicClient: true })
  const { baseUrl, events } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId })
  const final = await loginAtProvider(new Browser(), `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200)
  t.equal(JSON.parse(final.body).sub, 'demo')
  t.same(events.map((e) => e.type), ['login'])
  t.equal(idp.log.filter((e) => e.grantType === 'authorization_code' && e.status === 200).length, 1, 'the IdP accepted the code exchange')
})

t.test('the token request of a public client carries client_id and the PKCE verifier, and no client_secret', async (t) => {
  const { startHostileOp } = await import('../helpers/hostile-op.js')
  const op = await startHostileOp(t, { clientSecret: null })
  const port = await freePort()
  const { baseUrl } = await buildApp(t, { port, issuer: op.issuer, clientId: op.clientId })
  const final = await new Browser().follow(`${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200)
  const [tokenRequest] = op.requests('/token')
  t.ok(tokenRequest, 'the code was exchanged')
  t.equal(tokenRequest!.body['client_id'], op.clientId)
  t.type(tokenRequest!.body['code_verifier'], 'string')
  t.notOk('client_secret' in tokenRequest!.body, 'no client_secret parameter')
  t.equal(tokenRequest!.headers.authorization, undefined, 'no Basic credentials')
})
