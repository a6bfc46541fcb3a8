// OIDC_PRESET=auth0 against a stand-in serving an Auth0 tenant's discovery
// document: the issuer (with its trailing slash) from OIDC_SERVER_URL, the login
// at /authorize with offline_access, and logout through Auth0's /v2/logout
// (client_id, returnTo) when the tenant publishes no end_session_endpoint — its
// end_session_endpoint (RP-initiated logout) when it does.
import t, { type Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { answerAuthorize, auth0Document, startStandIn } from '../helpers/stand-in.js'

/** An Auth0 tenant stand-in and the app; resolves to the app and the browser's logout redirect. */
async function loginAndLogout (t: Test, endSession: boolean): Promise<{ app: TestApp, tenant: string, logout: URL }> {
  const op = await startHostileOp(t)
  const standIn = await startStandIn(t)
  const tenant = standIn.origin
  standIn.documents.set('/.well-known/openid-configuration', auth0Document(tenant, op, { endSession }))
  op.onToken = async (ctx) => ctx.error !== undefined ? undefined : { body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), iss: `${tenant}/` }) } }
  const app = await buildApp(t, { port: await freePort(), preset: 'auth0', serverUrl: tenant, clientId: op.clientId, clientSecret: op.clientSecret! })

  const browser = new Browser()
  const start = await browser.get(`${app.baseUrl}/auth/login`)
  const location = new URL(start.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, `${tenant}/authorize`)
  t.equal(location.searchParams.get('scope'), 'openid profile email offline_access', 'offline_access: Auth0 issues refresh tokens only then')
  t.equal((await browser.get(answerAuthorize(op, start.headers.get('location')!))).status, 302)
  t.same(app.events.map((e) => e.type), ['login'], 'the ID token of issuer <tenant>/ is accepted')
  const logout = await browser.request('POST', `${app.baseUrl}/auth/logout`)
  t.equal(logout.status, 302)
  return { app, tenant, logout: new URL(logout.headers.get('location')!) }
}

t.test('no end_session_endpoint: logout through /v2/logout with client_id and returnTo', async (t) => {
  const { app, tenant, logout } = await loginAndLogout(t, false)
  t.equal(`${logout.origin}${logout.pathname}`, `${tenant}/v2/logout`)
  t.same(Object.fromEntries(logout.searchParams), { client_id: 'test-client', returnTo: `${app.baseUrl}/` })
})

t.test('with an end_session_endpoint: RP-initiated logout', async (t) => {
  const { app, tenant, logout } = await loginAndLogout(t, true)
  t.equal(`${logout.origin}${logout.pathname}`, `${tenant}/oidc/logout`)
  t.equal(logout.searchParams.get('post_logout_redirect_uri'), `${app.baseUrl}/`)
  t.ok(logout.searchParams.get('id_token_hint'))
})
