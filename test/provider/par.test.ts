// Pushed authorization requests against the real oidc-provider: an IdP that
// requires them (metadata require_pushed_authorization_requests: OIDC_PAR=auto
// uses them), a client that requires them with private_key_jwt (Keycloak's "Signed
// JWT" + "PAR required"; OIDC_PAR=true), and a request_uri replayed by the browser,
// which the IdP refuses. Login, refresh and logout work end to end.
import t from 'tap'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

t.test('an IdP requiring PAR: OIDC_PAR=auto pushes; the request_uri works once', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, requirePushedAuthorizationRequests: true })
  const { baseUrl, events } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret! })
  const browser = new Browser()
  const start = await browser.follow(`${baseUrl}/auth/login?returnTo=/private`, { stopAt: (url) => url.origin === idp.issuer })
  const authorizeUrl = new URL(start.stoppedAt!)
  t.same([...authorizeUrl.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'the browser carries client_id and request_uri only')
  const final = await loginAtProvider(browser, authorizeUrl)
  t.equal(final.status, 200, 'logged in')
  t.equal(JSON.parse(final.body).sub, 'demo')
  t.same(idp.log.filter((e) => e.route === 'pushed_authorization_request').map((e) => e.status), [201], 'one push, accepted')
  t.ok(idp.log.some((e) => e.route === 'authorization' && e.requestUri === true), 'the authorization request used the request_uri')

  // The browser goes back to the IdP's URL: the request_uri is spent.
  const replay = await browser.follow(authorizeUrl)
  t.match(replay.hops[0]?.location, /[?&]error=invalid_request_uri/, 'the IdP refuses a replayed request_uri')
  t.equal(replay.status, 400, 'an answer bound to no login of this browser')
  t.same(events.map((e) => e.type), ['login', 'login_failure'], 'no second login')
  t.equal((await browser.get(`${baseUrl}/private`, { accept: 'application/json' })).status, 200, 'the session is intact')
})

t.test('a client requiring PAR with private_key_jwt (OIDC_PAR=true): login, refresh and logout', async (t) => {
  const port = await freePort()
  const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true })
  const idp = await startProvider(t, {
    appBaseUrl: `http://127.0.0.1:${port}`,
    extraClients: [{
      client_id: 'par-app',
      redirect_uris: [`http://127.0.0.1:${port}/auth/callback`],
      post_logout_redirect_uris: [`http://127.0.0.1:${port}/`],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...await exportJWK(publicKey), kid: 'par-key' } as never] },
      require_pushed_authorization_requests: true
    }]
  })
  const env = { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: 'par-app', OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: await exportPKCS8(privateKey), OIDC_CLIENT_KEY_ID: 'par-key' }

  // Without PAR the IdP refuses this client's login.
  const withoutPar = await buildApp(t, { port: await freePort(), env: { ...env, OIDC_PAR: 'false' } })
  const refused = await new Browser().follow(`${withoutPar.baseUrl}/auth/login`, { stopAt: (url) => url.origin !== idp.issuer && url.origin !== withoutPar.baseUrl })
  t.not(refused.status, 200, 'refused by the IdP without PAR')

  const { baseUrl, events } = await buildApp(t, { port, env: { ...env, OIDC_PAR: 'true' } })
  const browser = new Browser()
  const final = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200, 'logged in')
  t.equal((await browser.post(`${baseUrl}/auth/refresh`, {})).status, 200, 'refreshed')
  t.equal((await browser.get(`${baseUrl}/auth/logout`)).status, 302, 'logged out')
  t.same(events.map((e) => e.type), ['login', 'refresh', 'logout'])
  const calls = idp.log.filter((e) => ['pushed_authorization_request', 'token', 'revocation'].includes(e.route ?? '') && e.status !== undefined && e.status < 300)
  t.same(calls.map((e) => [e.route, e.clientAssertion]), [
    ['pushed_authorization_request', true],
    ['token', true],
    ['token', true],
    ['revocation', true]
  ], 'the push, both grants and the revocation authenticated with an assertion')
})
