// Issue 11.7: a GET /auth/logout that another site triggers (<img src>, a
// link) must not log the user out nor revoke their refresh token: it gets an
// escaped confirmation page with a POST form. Same-origin GETs and GETs from
// non-browser clients (no Sec-Fetch-Site, Origin or Referer) log out as before.
import t from 'tap'
import { Browser, loginAtProvider, parseForms } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { freePort, startProvider, type TestProvider, type Teardownable } from '../helpers/provider.js'

interface Setup extends TestApp { idp: TestProvider, browser: Browser }

async function loggedIn (t: Teardownable): Promise<Setup> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/private`)
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`)
  return { ...app, idp, browser }
}

async function authenticated (s: Setup): Promise<boolean> {
  return (JSON.parse((await s.browser.get(`${s.baseUrl}/auth/session`)).body) as { authenticated: boolean }).authenticated
}

const revocations = (s: Setup): number => s.idp.log.filter((e) => e.path === '/token/revocation').length

t.test('a cross-site or unknown-context GET gets a confirmation page; the session and refresh token stay', async (t) => {
  const s = await loggedIn(t)
  const foreign: Array<Record<string, string>> = [
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: 'https://evil.example' },
    { origin: 'null' },
    { referer: 'https://evil.example/page?<script>' },
    { referer: 'not a url' },
    { 'sec-fetch-site': 'same-origin', referer: 'https://evil.example/' }
  ]
  for (const headers of foreign) {
    const res = await s.browser.get(`${s.baseUrl}/auth/logout`, headers)
    t.equal(res.status, 200, JSON.stringify(headers))
    t.equal(res.headers.get('cache-control'), 'no-store')
    t.match(res.headers.get('content-type'), /^text\/html/)
    t.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/)
    t.notMatch(res.body, /evil|<script>/, 'nothing of the request is echoed')
    const [form] = parseForms(res.body, s.baseUrl)
    t.same([form?.method, form?.action], ['POST', `${s.baseUrl}/auth/logout`], 'a POST form to the logout route')
    t.match(res.body, /<a href="\/" id="stay-logged-in">/, 'a way to stay logged in')
  }
  t.equal(await authenticated(s), true, 'still logged in')
  t.equal(revocations(s), 0, 'no refresh token revoked')
  t.notOk(s.events.some((e) => e.type === 'logout'), 'no logout event')

  // The confirmation's form, submitted from the page itself, logs out.
  const confirm = await s.browser.post(`${s.baseUrl}/auth/logout`, {}, { origin: s.baseUrl, 'sec-fetch-site': 'same-origin' })
  t.equal(confirm.status, 302)
  t.equal(await authenticated(s), false, 'logged out by the POST')
  t.equal(revocations(s), 1, 'refresh token revoked')
})

for (const [name, headers] of [
  ['a same-origin GET (Sec-Fetch-Site)', { 'sec-fetch-site': 'same-origin', referer: '/profile' }],
  ['a GET typed in the address bar', { 'sec-fetch-site': 'none' }],
  ['a GET with a Referer of the app', { referer: 'BASE/profile' }],
  ['a GET from a non-browser client', {}]
] as Array<[string, Record<string, string>]>) {
  t.test(`${name} logs out as before`, async (t) => {
    const s = await loggedIn(t)
    const resolved = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.startsWith('/') ? `${s.baseUrl}${v}` : v.replace('BASE', s.baseUrl)]))
    const res = await s.browser.get(`${s.baseUrl}/auth/logout`, resolved)
    t.equal(res.status, 302)
    t.equal(await authenticated(s), false)
  })
}
