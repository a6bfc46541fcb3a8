// The example app in real headless Chromium: log in through the embedded IdP's
// forms, see the profile, log out through the IdP's end-session page.
import t from 'tap'
import { buildExampleApp } from '../example-app/app.js'
import { launchChromium } from './helpers/chromium.js'
import { freePort, startProvider } from './helpers/provider.js'

t.test('a person logs in and out of the example app in Chromium', async (t) => {
  const port = await freePort()
  const baseUrl = `http://localhost:${port}`
  const idp = await startProvider(t, { appBaseUrl: baseUrl, accounts: { admin: { roles: ['user', 'admin'] } } })
  const app = await buildExampleApp({
    issuer: idp.issuer,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    baseUrl,
    sessionSecret: 'example-browser-session-secret-0123456789abc',
    env: {}
  }, false)
  t.teardown(() => app.close())
  await app.listen({ port, host: '127.0.0.1' })

  const browser = await launchChromium(t)
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${baseUrl}/`)
  t.match(await page.textContent('body'), 'You are not signed in')

  await page.click('#login')
  await page.waitForURL((url) => url.origin === new URL(idp.issuer).origin)
  await page.fill('input[name="login"]', 'admin')
  await page.fill('input[name="password"]', 'any password')
  await Promise.all([page.waitForLoadState(), page.click('button[type="submit"]')])
  // Consent, then back through the app's callback to the profile.
  await page.click('button[type="submit"]')
  await page.waitForURL(`${baseUrl}/profile`)
  t.equal(await page.textContent('#who'), 'Admin')
  t.match(await page.textContent('#roles'), 'Roles: user, admin')
  t.match(await page.textContent('#claims'), 'admin@example.com')
  t.match(await page.getAttribute('#expiry time', 'datetime'), /^\d{4}-\d\d-\d\dT/)

  const cookies = await context.cookies(baseUrl)
  const session = cookies.find((c) => c.name === 'oidc.sid')
  t.ok(session, 'a session cookie')
  t.equal(session?.httpOnly, true)
  t.equal(session?.sameSite, 'Lax')
  t.notOk(cookies.some((c) => /^eyJ/.test(c.value)), 'no token in any cookie')

  await page.click('#logout')
  await page.waitForURL((url) => url.origin === new URL(idp.issuer).origin)
  await page.click('button[name="logout"]')
  await page.waitForURL(`${baseUrl}/`)
  t.match(await page.textContent('body'), 'You are not signed in')
  const guarded = await page.goto(`${baseUrl}/profile`)
  t.equal(new URL(guarded!.url()).origin, new URL(idp.issuer).origin, 'the profile now sends the browser to log in')
})
