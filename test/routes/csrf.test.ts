// CSRF defence of the state-changing routes (POST /auth/refresh, POST /auth/logout):
// another Origin, `Origin: null` or a cross-site/same-site Sec-Fetch-Site is
// refused with 403; a request with neither header is not from a browser.
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

const op = await startHostileOp(t)
const port = await freePort()
const { baseUrl, events } = await buildApp(t, { port, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret ?? undefined })

async function post (path: string, headers: Record<string, string>): Promise<{ status: number, body: Record<string, unknown> | null, location: string | null }> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { accept: 'application/json', ...headers }, redirect: 'manual' })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text), location: res.headers.get('location') }
}

const REFUSED: Array<[string, Record<string, string>]> = [
  ['another origin', { origin: 'https://evil.example' }],
  ['another port of the same host', { origin: `http://127.0.0.1:${port + 1}` }],
  ['the same host under another scheme', { origin: `https://127.0.0.1:${port}` }],
  ['Origin: null', { origin: 'null' }],
  ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
  ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
  ['same Origin but Sec-Fetch-Site: cross-site', { origin: baseUrl, 'sec-fetch-site': 'cross-site' }]
]

for (const path of ['/auth/refresh', '/auth/logout']) {
  t.test(`POST ${path}: cross-origin requests get 403`, async (t) => {
    for (const [name, headers] of REFUSED) {
      const res = await post(path, headers)
      t.equal(res.status, 403, name)
      t.match(res.body, { statusCode: 403, code: 'FST_OIDC_CROSS_ORIGIN_REQUEST', error: 'Forbidden' }, name)
      t.equal(res.location, null, `${name}: no redirect`)
    }
  })
}

t.test('POST /auth/refresh: same-origin and non-browser requests pass the check', async (t) => {
  const allowed: Array<[string, Record<string, string>]> = [
    ['neither header', {}],
    ['the same Origin', { origin: baseUrl }],
    ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin' }],
    ['Sec-Fetch-Site: none (typed by the user)', { 'sec-fetch-site': 'none' }],
    ['same Origin and Sec-Fetch-Site: same-origin', { origin: baseUrl, 'sec-fetch-site': 'same-origin' }]
  ]
  for (const [name, headers] of allowed) {
    const res = await post('/auth/refresh', headers)
    t.equal(res.status, 401, `${name}: past the CSRF check, refused for having no session`)
    t.equal(res.body?.['code'], 'FST_OIDC_UNAUTHENTICATED', name)
  }
})

t.test('POST /auth/logout: same-origin and non-browser requests pass the check', async (t) => {
  for (const headers of [{}, { origin: baseUrl, 'sec-fetch-site': 'same-origin' }] as Array<Record<string, string>>) {
    const res = await post('/auth/logout', headers)
    t.equal(res.status, 302)
    t.match(res.location, new RegExp(`^${op.url('/logout')}\\?`), 'sent to the end-session endpoint')
  }
})

t.test('with a session: a refused request neither refreshes nor logs out', async (t) => {
  const browser = new Browser()
  const login = await browser.follow(`${baseUrl}/auth/login?returnTo=/private`)
  t.equal(login.status, 200)
  t.equal(login.url, `${baseUrl}/private`)
  const cookie = await browser.jar.getCookieString(baseUrl)
  const grants = (): number => op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length

  const refresh = await post('/auth/refresh', { cookie, origin: 'https://evil.example' })
  t.equal(refresh.status, 403)
  t.equal(grants(), 0, 'no refresh grant')
  const logout = await post('/auth/logout', { cookie, 'sec-fetch-site': 'cross-site' })
  t.equal(logout.status, 403)
  t.equal(op.requests('/revoke').length, 0, 'nothing revoked')
  const session = await browser.get(`${baseUrl}/auth/session`)
  t.equal(JSON.parse(session.body).authenticated, true, 'still logged in')
  t.same(events.map((e) => e.type), ['login'], 'no refresh, refresh_failure or logout event')

  const sameOrigin = await post('/auth/refresh', { cookie, origin: baseUrl })
  t.equal(sameOrigin.status, 200, 'the same request from the app itself is served')
  t.equal(grants(), 1)
})
