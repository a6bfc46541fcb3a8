// The example stack as `npm start` runs it (embedded IdP, details, reviews,
// productpage), over real HTTP: the product page is assembled from both
// services with the user's JWT access token, and a service that refuses the
// token sends the browser back to log in.
import type { Test } from 'tap'
import t from 'tap'
import { buildDetails } from '../../example-app/services.js'
import { API_AUDIENCE, startStack, type Stack } from '../../example-app/stack.js'
import { Browser, loginAtProvider, logoutAtProvider, parseForms } from '../helpers/browser.js'
import { recordIssuedTokens } from '../helpers/issued-tokens.js'
import { freePort } from '../helpers/provider.js'

async function stack (t: Test, env: Record<string, string> = {}): Promise<Stack> {
  const started = await startStack({ port: await freePort(), detailsPort: 0, reviewsPort: 0, idpPort: 0, env })
  t.teardown(() => started.close())
  return started
}

t.test('anonymous: home invites to log in, the product page sends the browser to the IdP', async (t) => {
  const s = await stack(t)
  const browser = new Browser()
  const home = await browser.get(`${s.url}/`, { accept: 'text/html' })
  t.equal(home.status, 200)
  t.match(home.body, 'You are not signed in')
  const product = await browser.get(`${s.url}/product/0`, { accept: 'text/html' })
  t.equal(product.status, 302)
  t.equal(product.headers.get('location'), '/auth/login?returnTo=%2Fproduct%2F0')
})

t.test('log in, the product page shows details and reviews fetched with the user\'s access token, profile, logout', async (t) => {
  const s = await stack(t)
  const issued = recordIssuedTokens({ provider: s.idp!.provider } as Parameters<typeof recordIssuedTokens>[0])
  const browser = new Browser()
  const product = await loginAtProvider(browser, `${s.url}/auth/login?returnTo=%2Fproduct%2F0`, { login: 'admin' })
  t.equal(product.url, `${s.url}/product/0`, 'back on the product page after login')
  t.equal(product.status, 200)
  t.match(product.body, '<title>The Comedy of Errors · productpage</title>')
  t.match(product.body, /<dt>author<\/dt><dd>William Shakespeare<\/dd>/, 'details answered')
  t.match(product.body, /An extremely entertaining play by Shakespeare/, 'reviews answered (the token has reviews:read)')
  t.notMatch(product.body, 'unavailable')
  t.notMatch(product.body, /eyJ[\w-]+\./, 'no token on the page')

  // The services saw the IdP's JWT access token for the API audience and the user's sub.
  const [login] = issued
  t.ok(login, 'the IdP issued tokens')
  const direct = await fetch(`${s.details}/details/0`, { headers: { authorization: `Bearer ${login!.accessToken}` } })
  t.equal(direct.status, 200)
  t.equal((await direct.json() as { requestedBy: string }).requestedBy, 'admin')
  t.equal((await fetch(`${s.details}/details/0`)).status, 401, 'details refuses a call without a token')

  const profile = await browser.get(`${s.url}/profile`, { accept: 'text/html' })
  t.equal(profile.status, 200)
  t.match(profile.body, /<th>sub<\/th><td>&quot;admin&quot;<\/td>/)
  t.match(profile.body, 'Roles: user, admin')
  t.match(profile.body, /id="scopes">Scopes: [^<]*reviews:read/)
  t.match(profile.body, /id="expiry">Access token expires at <time datetime="\d{4}-/)
  t.notMatch(profile.body, /eyJ[\w-]+\./, 'no token on the profile')

  // The nav's "Log out" is a POST form (a cross-site GET would only get a confirmation page).
  const logoutForm = parseForms(profile.body, `${s.url}/profile`).find((f) => f.action === `${s.url}/auth/logout`)
  t.equal(logoutForm?.method, 'POST', 'the nav logs out with a POST form')
  const logout = await browser.post(`${s.url}/auth/logout`, {}, { origin: s.url, 'sec-fetch-site': 'same-origin' })
  t.equal(logout.status, 302)
  t.equal(new URL(logout.headers.get('location')!).origin, s.issuer, 'logout goes through the IdP end-session endpoint')
  const after = await browser.get(`${s.url}/product/0`, { accept: 'text/html' })
  t.equal(after.status, 302, 'anonymous again')
})

t.test('a service that refuses the token (after one refresh and retry) sends the browser to log in again', async (t) => {
  const s = await stack(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${s.url}/auth/login`)
  // Replace `details` by one expecting another audience: every token of this IdP is now refused.
  const port = Number(new URL(s.details).port)
  await s.apps[0]!.close()
  const strict = await buildDetails({ issuer: s.issuer, audience: 'urn:another:api', env: {} })
  t.teardown(() => strict.close())
  await strict.listen({ port, host: '127.0.0.1' })

  const refreshesBefore = s.idp!.countGrants('refresh_token')
  const product = await browser.get(`${s.url}/product/0`, { accept: 'text/html' })
  t.equal(product.status, 302)
  t.equal(product.headers.get('location'), '/auth/login?returnTo=%2Fproduct%2F0%3Freauth%3D1', 'back to login, once')
  t.equal(s.idp!.countGrants('refresh_token'), refreshesBefore + 1, 'one refresh before giving up')

  // The IdP still has its session: the login completes at once, and the services refuse the new token too.
  const again = await loginAtProvider(browser, new URL(product.headers.get('location')!, s.url))
  t.equal(again.url, `${s.url}/product/0?reauth=1`)
  t.equal(again.status, 401, 'no second redirect: no loop through the IdP')
  t.match(again.body, 'id="refused"')
  t.equal(s.idp!.countGrants('authorization_code'), 2, 'exactly one more login')
})

t.test('only product ids reach the services\' URLs', async (t) => {
  const s = await stack(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${s.url}/auth/login`)
  for (const id of ['0%2F..%2F', 'abc', '1e3', '-1']) {
    const res = await browser.get(`${s.url}/product/${id}`, { accept: 'text/html' })
    t.equal(res.status, 404, `/product/${id}`)
  }
})

t.test('a service that is down: the product page still renders, saying what is unavailable', async (t) => {
  const s = await stack(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${s.url}/auth/login`)
  await s.apps[1]!.close()
  const product = await browser.get(`${s.url}/product/0`, { accept: 'text/html' })
  t.equal(product.status, 200)
  t.match(product.body, /<dt>author<\/dt><dd>William Shakespeare<\/dd>/)
  t.match(product.body, 'id="reviews-unavailable"')
})

t.test('the services\' audience is the one the embedded IdP issues JWT access tokens for', async (t) => {
  t.equal(API_AUDIENCE, 'urn:bookinfo:api')
  const s = await stack(t)
  t.match(s.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.match(s.details, /^http:\/\/127\.0\.0\.1:\d+$/)
})

t.test('a logout at the embedded IdP ends the product page\'s session by back-channel logout', async (t) => {
  const s = await stack(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${s.url}/auth/login`)
  t.equal((await browser.get(`${s.url}/product/0`, { accept: 'text/html' })).status, 200)
  await logoutAtProvider(browser, `${s.issuer}/session/end`)
  const after = await browser.get(`${s.url}/product/0`, { accept: 'text/html' })
  t.equal(after.status, 302, 'the IdP told productpage: the session is over')
})

t.test('/api/stock with the Basic credentials of the users table; /admin/audit for admins only', async (t) => {
  const s = await stack(t)
  const basicAuth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const stock = await fetch(`${s.url}/api/stock`, { headers: { authorization: basicAuth('warehouse', 'stock-demo-password') } })
  t.equal(stock.status, 200)
  t.match(await stock.json(), { requestedBy: 'local:warehouse', via: 'basic', stock: [{ id: '0' }] })
  t.equal(stock.headers.get('set-cookie'), null, 'no session for a script')
  const wrong = await fetch(`${s.url}/api/stock`, { headers: { authorization: basicAuth('warehouse', 'guess') } })
  t.equal(wrong.status, 401)
  t.match(wrong.headers.get('www-authenticate'), /^Basic realm=/)

  t.equal((await fetch(`${s.url}/admin/audit`, { headers: { authorization: basicAuth('warehouse', 'stock-demo-password') } })).status, 403, 'not an admin')
  const audit = await fetch(`${s.url}/admin/audit`, { headers: { authorization: basicAuth('auditor', 'audit-demo-password'), accept: 'text/html' } })
  t.equal(audit.status, 200)
  const html = await audit.text()
  t.match(html, /<td>basic_auth_failure<\/td><td>unknown_user_or_bad_password<\/td><td><\/td><td>warehouse<\/td><td>\/api\/stock<\/td>/, 'the failed login, with its reason')
  t.match(html, /<td>basic_auth<\/td><td><\/td><td>local:warehouse<\/td>/)
  t.notMatch(html, /stock-demo-password|guess/, 'no password on the page')

  const browser = new Browser()
  await loginAtProvider(browser, `${s.url}/auth/login`, { login: 'admin' })
  t.equal((await browser.get(`${s.url}/admin/audit`, { accept: 'text/html' })).status, 200, 'the IdP\'s admin user (session) too')
  const demo = new Browser()
  await loginAtProvider(demo, `${s.url}/auth/login`)
  t.equal((await demo.get(`${s.url}/admin/audit`, { accept: 'text/html' })).status, 403, 'demo is no admin')
  t.equal((await demo.get(`${s.url}/api/stock`, { accept: 'application/json' })).status, 200, 'people with a session see the stock too')
})
