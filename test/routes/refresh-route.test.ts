// POST /auth/refresh: a refresh-token grant now, against the real IdP;
// refused without a session, cross-site, or when the IdP refuses the grant.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Browser, loginAtProvider, logoutAtProvider, type BrowserResponse } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { freePort, startProvider, type TestProvider, type Teardownable } from '../helpers/provider.js'

interface Setup extends TestApp {
  idp: TestProvider
  browser: Browser
}

async function loggedIn (t: Teardownable): Promise<Setup> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/private`)
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.body}`)
  return { ...app, idp, browser }
}

async function sessionOf (browser: Browser, baseUrl: string): Promise<{ authenticated: boolean, expiresAt: number | null, user: { sub: string } | null }> {
  return JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body)
}

/** What a page's `fetch('/auth/refresh', { method: 'POST' })` sends: no body. */
async function refresh (browser: Browser, baseUrl: string, headers: Record<string, string> = {}): Promise<BrowserResponse> {
  return await browser.request('POST', `${baseUrl}/auth/refresh`, undefined, headers)
}

t.jobs = 4

t.test('POST /auth/refresh runs one refresh grant and answers the new expiry and the user', async (t) => {
  const { idp, browser, baseUrl, events } = await loggedIn(t)
  const before = await sessionOf(browser, baseUrl)
  // expiresAt has a one-second resolution: let a second pass so the new one is later.
  await sleep(1000)
  const res = await refresh(browser, baseUrl)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const body = JSON.parse(res.body) as { expiresAt: unknown, user: { sub: string, roles: string[] } }
  t.same(Object.keys(body).sort(), ['expiresAt', 'user'], 'only expiresAt and user')
  t.type(body.expiresAt, 'number')
  const expiresAt = body.expiresAt as number
  t.ok(Number.isInteger(expiresAt), 'whole seconds')
  t.ok(expiresAt > before.expiresAt!, 'later than the expiry before the refresh')
  t.ok(Math.abs(expiresAt - (Date.now() / 1000 + 3600)) < 5, 'Unix seconds: now + the IdP access-token lifetime')
  t.equal(body.user.sub, 'demo')
  t.same(body.user.roles, ['user'])
  t.notMatch(res.body, /eyJ|access_?token|refresh_?token|id_?token/i, 'no token in the answer')
  t.equal(idp.countGrants('refresh_token'), 1, 'the IdP saw one refresh_token grant')
  t.equal(idp.log.find((e) => e.grantType === 'refresh_token')?.status, 200)
  t.equal((await sessionOf(browser, baseUrl)).expiresAt, expiresAt, 'the session holds the new expiry')
  const refreshEvents = events.filter((e) => e.type === 'refresh')
  t.equal(refreshEvents.length, 1, 'one refresh audit event')
  t.equal(refreshEvents[0]?.sub, 'demo')
})

t.test('POST /auth/refresh without a session is 401 FST_OIDC_UNAUTHENTICATED', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl, events } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  const res = await refresh(browser, baseUrl, { accept: 'application/json' })
  t.equal(res.status, 401)
  t.match(JSON.parse(res.body), { statusCode: 401, code: 'FST_OIDC_UNAUTHENTICATED' })
  t.same(res.headers.getSetCookie(), [], 'no cookie set')
  const html = await refresh(browser, baseUrl, { accept: 'text/html' })
  t.equal(html.status, 401, 'a POST is never redirected to the login page')
  t.equal(idp.countGrants('refresh_token'), 0, 'nothing sent to the IdP')
  t.same(events, [], 'no audit event')
})

t.test('cross-site POST /auth/refresh is 403 and reaches no IdP; same-origin is allowed', async (t) => {
  const { idp, browser, baseUrl, events } = await loggedIn(t)
  const crossSite: Array<Record<string, string>> = [
    { origin: 'https://evil.example' },
    { origin: 'http://127.0.0.1:1' },
    { origin: baseUrl.replace('127.0.0.1', 'localhost') },
    { origin: 'null' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: baseUrl, 'sec-fetch-site': 'cross-site' }
  ]
  for (const headers of crossSite) {
    const res = await refresh(browser, baseUrl, { ...headers, accept: 'application/json' })
    t.equal(res.status, 403, `403 for ${JSON.stringify(headers)}`)
    t.equal(JSON.parse(res.body).code, 'FST_OIDC_CROSS_ORIGIN_REQUEST')
  }
  t.equal(idp.countGrants('refresh_token'), 0, 'no refresh grant reached the IdP')
  t.equal(events.filter((e) => e.type === 'refresh' || e.type === 'refresh_failure').length, 0, 'no refresh event')
  t.equal((await sessionOf(browser, baseUrl)).authenticated, true, 'the session survives')

  const sameOrigin = await refresh(browser, baseUrl, { origin: baseUrl, 'sec-fetch-site': 'same-origin' })
  t.equal(sameOrigin.status, 200, 'same-origin Origin and Sec-Fetch-Site: 200')
  t.equal(idp.countGrants('refresh_token'), 1)
  const noHeaders = await refresh(browser, baseUrl)
  t.equal(noHeaders.status, 200, 'neither header (not a browser): 200')
  t.equal(idp.countGrants('refresh_token'), 2)
})

t.test('a refresh the IdP refuses (grant revoked by logging out at the IdP) is 401 and ends the session', async (t) => {
  const { idp, browser, baseUrl, events } = await loggedIn(t)
  const cookie = (await browser.cookies(baseUrl))['oidc.sid']
  t.ok(cookie, 'has a session cookie')

  // Sign out at the IdP itself (same browser, so the IdP's own session): it
  // revokes the grant, and with it the refresh token the app holds.
  const idpLogout = await logoutAtProvider(browser, `${idp.issuer}/session/end`)
  t.equal(idpLogout.status, 200)
  t.match(idpLogout.body, /sign-out was successful/)
  t.equal((await sessionOf(browser, baseUrl)).authenticated, true, 'the app does not know yet')

  const res = await refresh(browser, baseUrl, { accept: 'application/json' })
  t.equal(res.status, 401)
  t.match(JSON.parse(res.body), { statusCode: 401, code: 'FST_OIDC_INVALID_GRANT' })
  t.notMatch(res.body, /eyJ/, 'no token in the error')
  t.equal(idp.countGrants('refresh_token'), 1, 'the grant was tried once')
  t.equal(idp.log.find((e) => e.grantType === 'refresh_token')?.status, 400, 'and refused by the IdP')

  t.equal((await sessionOf(browser, baseUrl)).authenticated, false, 'the session is gone')
  const oldCookie = await fetch(`${baseUrl}/private`, { headers: { cookie: `oidc.sid=${cookie}`, accept: 'application/json' } })
  t.equal(oldCookie.status, 401, 'the old session cookie no longer authenticates')

  const failure = events.filter((e) => e.type === 'refresh_failure')
  t.equal(failure.length, 1, 'one refresh_failure event')
  t.match(failure[0], { reason: 'invalid_grant', sub: 'demo' })
  t.equal(events.filter((e) => e.type === 'refresh').length, 0, 'no refresh event')

  const again = await refresh(browser, baseUrl, { accept: 'application/json' })
  t.equal(again.status, 401)
  t.equal(JSON.parse(again.body).code, 'FST_OIDC_UNAUTHENTICATED', 'then: no session')
  t.equal(idp.countGrants('refresh_token'), 1, 'and no second grant')
})

t.test('POST /auth/refresh from fetch() with a JSON content type and no body is served, not a 400', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  const headers = { 'content-type': 'application/json', origin: baseUrl, cookie: await browser.jar.getCookieString(baseUrl) }
  const res = await fetch(`${baseUrl}/auth/refresh`, { method: 'POST', headers })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as { user: { sub: string } }).user.sub, 'demo')
  t.equal(idp.countGrants('refresh_token'), 1)
  const bad = await fetch(`${baseUrl}/auth/refresh`, { method: 'POST', headers, body: '{not json' })
  t.equal(bad.status, 400, 'a malformed JSON body is still a client error')
  t.equal(idp.countGrants('refresh_token'), 1, 'and spends no refresh grant')
})
