import t from 'tap'
import { buildExampleApp } from '../example-app/app.js'
import { Browser, loginAtProvider } from './helpers/browser.js'
import { freePort, startProvider } from './helpers/provider.js'

t.test('the example app: home, login with the embedded IdP, profile with claims and expiry, logout', async (t) => {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const idp = await startProvider(t, { appBaseUrl: baseUrl })
  const app = await buildExampleApp({
    issuer: idp.issuer,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    baseUrl,
    sessionSecret: 'example-test-session-secret-0123456789abcdef',
    env: {}
  }, false)
  t.teardown(() => app.close())
  await app.listen({ port, host: '127.0.0.1' })

  const browser = new Browser()
  const home = await browser.get(`${baseUrl}/`, { accept: 'text/html' })
  t.equal(home.status, 200)
  t.match(home.body, 'You are not signed in')

  const guarded = await browser.get(`${baseUrl}/profile`, { accept: 'text/html' })
  t.equal(guarded.status, 302)
  const login = new URL(guarded.headers.get('location')!, baseUrl)
  const profile = await loginAtProvider(browser, login.href)
  t.equal(profile.url, `${baseUrl}/profile`, 'the login returned the browser to the profile')
  t.equal(profile.status, 200)
  t.match(profile.body, /<th>sub<\/th><td>&quot;demo&quot;<\/td>/)
  t.match(profile.body, /<th>email<\/th><td>&quot;demo@example.com&quot;<\/td>/)
  t.match(profile.body, /id="expiry">Access token expires at <time datetime="\d{4}-/)
  t.match(profile.body, 'Roles: user')
  t.notMatch(profile.body, /eyJ[\w-]+\.[\w-]+/, 'no token on the page')

  const logout = await browser.get(`${baseUrl}/auth/logout`)
  t.equal(logout.status, 302)
  t.equal(new URL(logout.headers.get('location')!).origin, new URL(idp.issuer).origin, 'logout goes through the IdP end-session endpoint')
  const after = await browser.get(`${baseUrl}/profile`)
  t.equal(after.status, 401, 'the session is gone')
})
