// Step-up against the real in-process IdP (oidc-provider 9, with authentication
// levels urn:example:pwd (the default) and urn:example:mfa): a page asking for a
// stronger `acr` or a fresher login sends the browser through login with
// `acr_values` / `max_age` and back, on a new session id; an API call gets 401
// with the RFC 9470 challenge; a level the IdP cannot give ends on a 403 page
// saying what was asked and what came back, with the old session kept.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { freePort, startProvider, type TestProvider, type Teardownable } from '../helpers/provider.js'

const PWD = 'urn:example:pwd'
const MFA = 'urn:example:mfa'
const HTML = { accept: 'text/html,application/xhtml+xml' }
const JSON_ACCEPT = { accept: 'application/json' }

function routes (app: FastifyInstance): void {
  const show = async (request: { oidc: { user: Record<string, unknown> | null } }): Promise<unknown> =>
    ({ sub: request.oidc.user?.['sub'], acr: request.oidc.user?.['acr'], authTime: request.oidc.user?.['auth_time'] })
  app.get('/mfa', { preHandler: app.requireAuth({ acr: [MFA] }) }, show)
  app.get('/fresh', { preHandler: app.requireAuth({ maxAge: 300 }) }, show)
  app.get('/both', { preHandler: app.requireAuth({ acr: [MFA, 'urn:example:hwk'], maxAge: 300 }) }, show)
  app.get('/hardware', { preHandler: app.requireAuth({ acr: ['urn:example:hwk'] }) }, show)
}

async function setup (t: Teardownable): Promise<TestApp & { idp: TestProvider }> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, acrValues: [PWD, MFA] })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, routes })
  return { ...app, idp }
}

/** The IdP's login form was shown (a POST of devInteractions' login prompt). */
const promptedLogin = (hops: Array<{ url: string }>, issuer: string): boolean => hops.some((h) => h.url.startsWith(`${issuer}/interaction/`))

t.jobs = 3

t.test('a page asking for a stronger acr: through login with acr_values and back, on a new session id', async (t) => {
  const { baseUrl, idp, events } = await setup(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  const before = (await browser.cookies(baseUrl))['oidc.sid']
  const session = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body) as { user: Record<string, unknown> }
  t.equal(session.user['acr'], PWD, 'the first login has the default level')

  const nav = await browser.get(`${baseUrl}/mfa`, HTML)
  t.equal(nav.status, 302)
  t.equal(nav.headers.get('location'), '/auth/login?returnTo=%2Fmfa&acr_values=urn%3Aexample%3Amfa')
  t.equal(nav.headers.get('cache-control'), 'no-store')

  const final = await loginAtProvider(browser, new URL(nav.headers.get('location')!, baseUrl))
  const authorize = new URL(final.hops.find((h) => h.url.startsWith(`${idp.issuer}/auth?`))!.url)
  t.equal(authorize.searchParams.get('acr_values'), MFA, 'the IdP was asked for the level')
  t.ok(promptedLogin(final.hops, idp.issuer), 'the IdP asked the user to log in again')
  t.equal(final.url, `${baseUrl}/mfa`, 'back on the page')
  t.equal(final.status, 200)
  t.match(JSON.parse(final.body), { sub: 'demo', acr: MFA })
  const after = (await browser.cookies(baseUrl))['oidc.sid']
  t.ok(after !== undefined && after !== before, 'a new session id')
  t.same(events.map((e) => [e.type, e.sub]), [['login', 'demo'], ['login', 'demo']])
  t.equal((await browser.get(`${baseUrl}/mfa`, HTML)).status, 200, 'the session now passes')
  const other = await browser.get(`${baseUrl}/hardware`, HTML)
  t.equal(other.status, 302, 'another requirement right after: through login again (the loop guard is for the same one)')
  t.equal(other.headers.get('location'), '/auth/login?returnTo=%2Fhardware&acr_values=urn%3Aexample%3Ahwk')
  t.equal((await browser.get(`${baseUrl}/private`, JSON_ACCEPT)).status, 200, 'and still passes the other guards')
})

t.test('an API call gets 401 FST_OIDC_STEP_UP_REQUIRED with the RFC 9470 challenge', async (t) => {
  const { baseUrl } = await setup(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  for (const [path, challenge] of [
    ['/mfa', 'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:mfa"'],
    ['/both', 'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:mfa urn:example:hwk", max_age=300']
  ] as const) {
    const res = await browser.get(`${baseUrl}${path}`, JSON_ACCEPT)
    t.equal(res.status, 401, `${path}: 401`)
    t.equal(res.headers.get('www-authenticate'), challenge, `${path}: the challenge`)
    t.match(JSON.parse(res.body), { statusCode: 401, code: 'FST_OIDC_STEP_UP_REQUIRED' })
  }
  const post = await browser.request('POST', `${baseUrl}/mfa`, undefined, HTML)
  t.equal(post.status, 404, 'only GET is routed')
  t.equal((await browser.get(`${baseUrl}/fresh`, JSON_ACCEPT)).status, 200, 'a login just made is fresh enough')
  const anonymous = await new Browser().get(`${baseUrl}/mfa`, HTML)
  t.equal(anonymous.headers.get('location'), '/auth/login?returnTo=%2Fmfa&acr_values=urn%3Aexample%3Amfa', 'anonymous: one login, asking for the level at once')
})

t.test('a login older than maxAge: through login with max_age, the IdP asks again, a fresh auth_time', async (t) => {
  const { baseUrl, idp } = await setup(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  // The IdP's own session is made 10 minutes old, then the app logs in again without prompt (single sign-on).
  const opSession = await idp.provider.Session.find((await browser.cookies(idp.issuer))['op_session']!)
  opSession!.loginTs = opSession!.loginTs! - 600
  await opSession!.persist()
  const sso = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=%2Fprivate`)
  t.notOk(promptedLogin(sso.hops, idp.issuer), 'single sign-on: no login form')
  const old = await browser.get(`${baseUrl}/fresh`, HTML)
  t.equal(old.status, 302)
  t.equal(old.headers.get('location'), '/auth/login?returnTo=%2Ffresh&max_age=300')
  const api = await browser.get(`${baseUrl}/fresh`, JSON_ACCEPT)
  t.equal(api.headers.get('www-authenticate'), 'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=300')

  const final = await loginAtProvider(browser, new URL(old.headers.get('location')!, baseUrl))
  t.ok(promptedLogin(final.hops, idp.issuer), 'the IdP asked the user to log in again (max_age)')
  t.equal(final.url, `${baseUrl}/fresh`)
  const body = JSON.parse(final.body) as { authTime: number }
  t.ok(body.authTime >= Date.now() / 1000 - 60, 'a fresh auth_time')
})

t.test('a level the IdP cannot give: 403 FST_OIDC_STEP_UP_FAILED page, no loop, the old session kept', async (t) => {
  const { baseUrl, idp, events } = await setup(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  const before = (await browser.cookies(baseUrl))['oidc.sid']
  const nav = await browser.get(`${baseUrl}/hardware`, HTML)
  const atCallback = await loginAtProvider(browser, new URL(nav.headers.get('location')!, baseUrl), { stopAt: (url) => url.pathname === '/auth/callback' })
  t.ok(atCallback.stoppedAt, 'the IdP sent the browser back')
  const res = await browser.get(atCallback.stoppedAt!, HTML)
  t.equal(res.status, 403)
  t.match(res.headers.get('content-type'), /^text\/html/)
  t.match(res.body, '<code>FST_OIDC_STEP_UP_FAILED</code>')
  t.match(res.body, 'asked for acr urn:example:hwk; got acr &quot;urn:example:pwd&quot;, an authentication ', 'what was asked, what came back')
  t.same(events.slice(1).map((e) => [e.type, e.reason]), [['login_failure', 'step_up_acr']])
  t.equal((await browser.cookies(baseUrl))['oidc.sid'], before, 'the session cookie is unchanged')
  t.equal((await browser.get(`${baseUrl}/private`, JSON_ACCEPT)).status, 200, 'and the old session still works')
  t.equal(idp.log.filter((e) => e.path === '/auth').length, 2, 'two authorization requests: the login and one step-up')
})
