// requireAuth against real logins: browser navigations are sent to login and
// come back, API calls get 401, roles / scopes / claims give 403 or 200, and
// returnTo cannot send the browser to another site.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { freePort, startProvider, type TestProvider, type Teardownable } from '../helpers/provider.js'

function extraRoutes (app: FastifyInstance): void {
  const ok = async (): Promise<{ ok: true }> => ({ ok: true })
  app.get('/admin', { preHandler: app.requireAuth({ roles: ['admin'] }) }, ok)
  app.get('/users', { preHandler: app.requireAuth({ roles: ['user'] }) }, ok)
  app.get('/user-and-admin', { preHandler: app.requireAuth({ roles: ['user', 'admin'] }) }, ok)
  app.get('/email-scope', { preHandler: app.requireAuth({ scopes: ['openid', 'email'] }) }, ok)
  app.get('/api-scope', { preHandler: app.requireAuth({ scopes: ['api:write'] }) }, ok)
  app.get('/verified', { preHandler: app.requireAuth({ claims: (c) => c['email_verified'] === true }) }, ok)
  app.get('/corp', { preHandler: app.requireAuth({ claims: (c) => typeof c['email'] === 'string' && c['email'].endsWith('@corp.example') }) }, ok)
  app.post('/private', { preHandler: app.requireAuth() }, ok)
}

interface Setup extends TestApp {
  idp: TestProvider
}

async function setup (t: Teardownable): Promise<Setup> {
  const port = await freePort()
  const idp = await startProvider(t, {
    appBaseUrl: `http://127.0.0.1:${port}`,
    accounts: { alice: { roles: ['user', 'admin'], email: 'alice@corp.example' } }
  })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, routes: extraRoutes })
  return { ...app, idp }
}

const JSON_ACCEPT = { accept: 'application/json' }

t.jobs = 4

t.test('unauthenticated: a browser navigation goes to login and back, anything else is 401', async (t) => {
  const { baseUrl, events } = await setup(t)
  const browser = new Browser()
  const nav = await browser.get(`${baseUrl}/private?x=1`, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })
  t.equal(nav.status, 302)
  t.equal(nav.headers.get('location'), '/auth/login?returnTo=%2Fprivate%3Fx%3D1')
  t.equal(nav.headers.get('cache-control'), 'no-store', 'the redirect is not cached')
  t.same(nav.headers.getSetCookie(), [], 'and sets no cookie')

  for (const [what, method, headers] of [
    ['API GET', 'GET', JSON_ACCEPT],
    ['GET without Accept', 'GET', {}]
  ] as const) {
    const res = await browser.request(method, `${baseUrl}/private?x=1`, undefined, headers)
    t.equal(res.status, 401, `${what}: 401`)
    t.match(JSON.parse(res.body), { statusCode: 401, code: 'FST_OIDC_UNAUTHENTICATED' }, `${what}: JSON error`)
  }
  const post = await browser.request('POST', `${baseUrl}/private?x=1`, undefined, { accept: 'text/html' })
  t.equal(post.status, 401, 'POST accepting HTML: 401')
  t.match(post.body, /<code>FST_OIDC_UNAUTHENTICATED<\/code>/, 'POST accepting HTML: the error page')

  // Following the navigation: log in at the IdP and land on the original URL.
  const final = await loginAtProvider(browser, new URL(nav.headers.get('location')!, baseUrl))
  t.equal(final.url, `${baseUrl}/private?x=1`, 'back on the page first asked for')
  t.equal(final.status, 200)
  t.same(JSON.parse(final.body), { sub: 'demo', roles: ['user'] })
  t.same(events.map((e) => e.type), ['login'])
})

t.test('roles: 403 FST_OIDC_FORBIDDEN when missing, 200 when present', async (t) => {
  const { baseUrl } = await setup(t)
  const demo = new Browser()
  await loginAtProvider(demo, `${baseUrl}/auth/login`, { login: 'demo' })
  const alice = new Browser()
  await loginAtProvider(alice, `${baseUrl}/auth/login`, { login: 'alice' })
  t.same(JSON.parse((await alice.get(`${baseUrl}/private`)).body).roles, ['user', 'admin'], 'alice has the admin role')

  for (const [path, demoStatus, aliceStatus] of [['/users', 200, 200], ['/admin', 403, 200], ['/user-and-admin', 403, 200]] as const) {
    const d = await demo.get(`${baseUrl}${path}`, JSON_ACCEPT)
    t.equal(d.status, demoStatus, `demo ${path}: ${demoStatus}`)
    if (demoStatus === 403) t.match(JSON.parse(d.body), { statusCode: 403, code: 'FST_OIDC_FORBIDDEN' })
    else t.same(JSON.parse(d.body), { ok: true })
    const a = await alice.get(`${baseUrl}${path}`, JSON_ACCEPT)
    t.equal(a.status, aliceStatus, `alice ${path}: ${aliceStatus}`)
  }
  const html = await demo.get(`${baseUrl}/admin`, { accept: 'text/html' })
  t.equal(html.status, 403, 'a signed-in browser without the role gets 403, not a login redirect')
})

t.test('scopes and claims predicates: 403 when not met, 200 when met', async (t) => {
  const { baseUrl } = await setup(t)
  const demo = new Browser()
  await loginAtProvider(demo, `${baseUrl}/auth/login`, { login: 'demo' })
  const alice = new Browser()
  await loginAtProvider(alice, `${baseUrl}/auth/login`, { login: 'alice' })

  const check = async (browser: Browser, path: string, status: number): Promise<void> => {
    const res = await browser.get(`${baseUrl}${path}`, JSON_ACCEPT)
    t.equal(res.status, status, `${path}: ${status}`)
    if (status === 403) t.equal(JSON.parse(res.body).code, 'FST_OIDC_FORBIDDEN')
  }
  await check(demo, '/email-scope', 200)
  await check(demo, '/api-scope', 403)
  await check(demo, '/verified', 200)
  await check(demo, '/corp', 403)
  await check(alice, '/corp', 200)
  await check(alice, '/api-scope', 403)
})

t.test('returnTo pointing to another site falls back to / after login', async (t) => {
  const { baseUrl, events, idp } = await setup(t)
  const browser = new Browser()
  // Follow the IdP and the app's /auth routes; stop before anything else (another site included).
  const stopAt = (url: URL): boolean => url.origin !== new URL(idp.issuer).origin && (url.origin !== baseUrl || !url.pathname.startsWith('/auth/'))
  const hostile = [
    '//evil.example',
    'https://evil.example',
    'https://evil.example/private',
    '/\\evil.example',
    '\\\\evil.example',
    '%2F%2Fevil.example',
    '/%2F/evil.example',
    '/..//evil.example',
    'javascript:alert(1)',
    ' //evil.example'
  ]
  for (const returnTo of hostile) {
    const final = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, { stopAt })
    const callback = final.hops.find((h) => h.url.startsWith(`${baseUrl}/auth/callback`))
    t.equal(callback?.status, 302, `${JSON.stringify(returnTo)}: the callback redirects`)
    t.equal(callback?.location, `${baseUrl}/`, `${JSON.stringify(returnTo)}: to /`)
    t.equal(final.stoppedAt, `${baseUrl}/`)
    t.notOk(final.hops.some((h) => /evil/.test(new URL(h.url).host)), 'never to another host')
  }
  t.equal(events.filter((e) => e.type === 'login').length, hostile.length, 'each login succeeded')

  // A raw, percent-encoded '//' in the query string is decoded once by the query parser.
  const raw = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=%2F%2Fevil.example`, { stopAt })
  t.equal(raw.hops.find((h) => h.url.startsWith(`${baseUrl}/auth/callback`))?.location, `${baseUrl}/`)

  // A same-origin path with a query is kept.
  const good = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=${encodeURIComponent('/private?x=1&y=%2F')}`)
  t.equal(good.url, `${baseUrl}/private?x=1&y=%2F`, 'a same-origin path and query are kept')
  t.equal(good.status, 200)
})
