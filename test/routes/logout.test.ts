// GET|POST /auth/logout against the real IdP: the session is destroyed
// before the redirect, the refresh token is revoked, the browser is sent to
// the IdP's end-session endpoint, and the IdP logout lands back on the app.
import { decodeJwt } from 'jose'
import t from 'tap'
import { Browser, loginAtProvider, logoutAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { recordIssuedTokens, useRefreshToken, type IssuedTokens } from '../helpers/issued-tokens.js'
import { freePort, startProvider, type TestProvider, type Teardownable } from '../helpers/provider.js'

interface Setup extends TestApp {
  idp: TestProvider
  browser: Browser
  issued: IssuedTokens[]
  /** The `oidc.sid` cookie value after login. */
  sid: string
}

async function loggedIn (t: Teardownable, options: { revokeOnLogout?: boolean } = {}): Promise<Setup> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const issued = recordIssuedTokens(idp)
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, ...options })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/private`)
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.body}`)
  const sid = (await browser.cookies(app.baseUrl))['oidc.sid']
  if (sid === undefined) throw new Error('no session cookie after login')
  return { ...app, idp, browser, issued, sid }
}

async function authenticated (baseUrl: string, sid: string): Promise<boolean> {
  const res = await fetch(`${baseUrl}/auth/session`, { headers: { cookie: `oidc.sid=${sid}` } })
  return (await res.json() as { authenticated: boolean }).authenticated
}

const endSession = (idp: TestProvider): string => `${idp.issuer}/session/end`

t.jobs = 4

t.test('GET /auth/logout destroys the session, revokes the refresh token and redirects to end_session', async (t) => {
  const { idp, browser, baseUrl, events, issued, sid } = await loggedIn(t)
  t.equal(issued.length, 1, 'the IdP issued one token set')
  const { refreshToken, idToken } = issued[0]!
  t.ok(refreshToken, 'with a refresh token')
  const revocationsBefore = idp.log.filter((e) => e.path === '/token/revocation').length

  const res = await browser.get(`${baseUrl}/auth/logout`)
  t.equal(res.status, 302)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const location = new URL(res.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, endSession(idp), 'to the IdP end_session_endpoint')
  t.equal(location.searchParams.get('id_token_hint'), idToken, 'id_token_hint is the ID token the IdP issued')
  t.equal(location.searchParams.get('post_logout_redirect_uri'), `${baseUrl}/`)
  t.equal(location.searchParams.get('client_id'), idp.client.clientId)

  // Destroyed before the redirect: the 302 is the answer, and already the
  // old cookie authenticates nothing.
  t.equal(await authenticated(baseUrl, sid), false, 'the old session cookie no longer authenticates')
  const privateRes = await fetch(`${baseUrl}/private`, { headers: { cookie: `oidc.sid=${sid}`, accept: 'application/json' } })
  t.equal(privateRes.status, 401)
  t.equal(JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body).authenticated, false, '/auth/session: anonymous')

  const revocations = idp.log.filter((e) => e.path === '/token/revocation')
  t.equal(revocations.length - revocationsBefore, 1, 'one revocation request reached the IdP')
  t.equal(revocations.at(-1)?.status, 200)
  t.same(await useRefreshToken(idp, refreshToken!), { status: 400, error: 'invalid_grant' }, 'the refresh token no longer works')

  const logout = events.filter((e) => e.type === 'logout')
  t.equal(logout.length, 1, 'one logout audit event')
  t.match(logout[0], { sub: 'demo', provider: 'default' })
  t.equal(logout[0]?.sid, decodeJwt(idToken!)['sid'], 'with the ID token\'s sid, if any')
})

t.test('following the redirect, the IdP logout completes and lands on the post-logout URI', async (t) => {
  const { idp, browser, baseUrl } = await loggedIn(t)
  const res = await logoutAtProvider(browser, `${baseUrl}/auth/logout`, { stopAt: (url) => url.origin === baseUrl && url.pathname === '/' })
  t.equal(res.stoppedAt, `${baseUrl}/`, 'the IdP sent the browser to the post-logout URI')
  t.ok(res.hops.some((h) => h.url.startsWith(endSession(idp))), 'through the IdP end_session_endpoint')
  t.equal(JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body).authenticated, false)

  // The IdP session is over too: a new login asks for credentials again.
  const again = await browser.follow(`${baseUrl}/auth/login`)
  t.equal(again.status, 200)
  t.match(again.body, /name="prompt" value="login"|value="login" name="prompt"/, 'the IdP shows its login form')
})

t.test('POST /auth/logout (a same-origin form) logs out; a cross-site one is 403 and the session survives', async (t) => {
  const { idp, browser, baseUrl, events, issued, sid } = await loggedIn(t)
  const crossSite: Array<Record<string, string>> = [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]
  for (const headers of crossSite) {
    const res = await browser.post(`${baseUrl}/auth/logout`, {}, { ...headers, accept: 'application/json' })
    t.equal(res.status, 403, `403 for ${JSON.stringify(headers)}`)
    t.equal(JSON.parse(res.body).code, 'FST_OIDC_CROSS_ORIGIN_REQUEST')
  }
  t.equal(await authenticated(baseUrl, sid), true, 'the session survives')
  t.equal(idp.log.filter((e) => e.path === '/token/revocation').length, 0, 'nothing revoked')
  t.equal(events.filter((e) => e.type === 'logout').length, 0, 'no logout event')

  const res = await browser.post(`${baseUrl}/auth/logout`, {}, { origin: baseUrl, 'sec-fetch-site': 'same-origin' })
  t.equal(res.status, 302, 'a same-origin form POST logs out')
  t.ok(res.headers.get('location')?.startsWith(`${endSession(idp)}?`), 'to the IdP end_session_endpoint')
  t.equal(await authenticated(baseUrl, sid), false, 'the session is gone')
  t.same(await useRefreshToken(idp, issued[0]!.refreshToken!), { status: 400, error: 'invalid_grant' }, 'the refresh token was revoked')
  t.equal(events.filter((e) => e.type === 'logout').length, 1)
})

t.test('logout without a session redirects to the IdP without a hint, and records nothing', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl, events } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  const res = await browser.get(`${baseUrl}/auth/logout`)
  t.equal(res.status, 302)
  const location = new URL(res.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, endSession(idp))
  t.equal(location.searchParams.get('id_token_hint'), null, 'no id_token_hint')
  t.equal(location.searchParams.get('post_logout_redirect_uri'), `${baseUrl}/`)
  t.equal(location.searchParams.get('client_id'), idp.client.clientId)
  t.same(res.headers.getSetCookie(), [], 'no cookie set')
  t.equal(idp.log.filter((e) => e.path === '/token/revocation').length, 0, 'nothing to revoke')
  t.same(events, [], 'no audit event')

  const garbage = await fetch(`${baseUrl}/auth/logout`, { headers: { cookie: 'oidc.sid=not-a-session' }, redirect: 'manual' })
  t.equal(garbage.status, 302, 'a garbage session cookie: still a plain redirect')

  // The IdP accepts that URL: it asks to confirm, then lands on the post-logout URI.
  const followed = await logoutAtProvider(browser, location, { stopAt: (url) => url.origin === baseUrl })
  t.equal(followed.stoppedAt, `${baseUrl}/`)
})

t.test('with revokeOnLogout: false the refresh token is left alone', async (t) => {
  const { idp, browser, baseUrl, issued, sid } = await loggedIn(t, { revokeOnLogout: false })
  const res = await browser.get(`${baseUrl}/auth/logout`)
  t.equal(res.status, 302)
  t.equal(await authenticated(baseUrl, sid), false, 'the session is gone')
  t.equal(idp.log.filter((e) => e.path === '/token/revocation').length, 0, 'no revocation request')
  t.equal((await useRefreshToken(idp, issued[0]!.refreshToken!)).status, 200, 'the refresh token still works at the IdP')
})
