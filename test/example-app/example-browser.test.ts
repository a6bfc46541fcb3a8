// The example stack (embedded IdP, details, reviews, productpage) in real
// headless Chromium: log in through the IdP's form, see the product page built
// from both services, see the profile, open the admin page (step-up: a login
// older than 5 minutes is sent through the IdP's login form again), log out
// through the IdP's end-session page, and be anonymous again. The product page's screenshot is kept as a test
// artifact in test-artifacts/.
import { mkdirSync } from 'node:fs'
import t from 'tap'
import { startStack } from '../../example-app/stack.js'
import { launchChromium } from '../helpers/chromium.js'
import { freePort } from '../helpers/provider.js'

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url)

t.test('a person logs in, reads the product page, the profile, and logs out, in Chromium', async (t) => {
  const stack = await startStack({ port: await freePort(), detailsPort: 0, reviewsPort: 0, idpPort: 0, env: {} })
  t.teardown(() => stack.close())
  const { url: baseUrl, issuer } = stack

  const browser = await launchChromium(t)
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${baseUrl}/`)
  t.match(await page.textContent('body'), 'You are not signed in')

  await page.click('#login')
  await page.waitForURL((url) => url.origin === issuer)
  await page.fill('input[name="login"]', 'admin')
  await page.fill('input[name="password"]', 'any password')
  await Promise.all([page.waitForLoadState(), page.click('button[type="submit"]')])
  // Consent, then back through the app's callback to the page the login started from.
  await page.click('button[type="submit"]')
  await page.waitForURL(`${baseUrl}/product/0`)

  t.equal(await page.textContent('h1'), 'The Comedy of Errors')
  t.equal(await page.textContent('#who'), 'Admin')
  t.match(await page.textContent('#details'), 'William Shakespeare', 'details, from the details service')
  t.equal(await page.locator('#reviews li').count(), 2, 'two reviews, from the reviews service')
  t.equal(await page.locator('.unavailable').count(), 0, 'no service was unavailable')
  mkdirSync(ARTIFACTS, { recursive: true })
  const screenshot = await page.screenshot({ path: new URL('product-page.png', ARTIFACTS).pathname, fullPage: true })
  t.ok(screenshot.length > 1000, 'a screenshot of the product page was saved')

  await page.click('a[href="/profile"]')
  await page.waitForURL(`${baseUrl}/profile`)
  t.match(await page.textContent('#roles'), 'Roles: user, admin')
  t.match(await page.textContent('#scopes'), 'reviews:read')
  t.match(await page.textContent('#claims'), 'admin@example.com')
  t.match(await page.getAttribute('#expiry time', 'datetime'), /^\d{4}-\d\d-\d\dT/)
  t.notMatch(await page.content(), /eyJ[\w-]+\./, 'no token in the page')

  const cookies = await context.cookies(baseUrl)
  const session = cookies.find((c) => c.name === 'oidc.sid')
  t.ok(session, 'a session cookie')
  t.equal(session?.httpOnly, true)
  t.equal(session?.sameSite, 'Lax')
  t.notOk(cookies.some((c) => /^eyJ/.test(c.value)), 'no token in any cookie')

  // Step-up: the admin page asks for a login no older than 5 minutes. Just logged in: straight in.
  await page.click('#audit-link')
  await page.waitForURL(`${baseUrl}/admin/audit`)
  t.equal(await page.locator('#audit tr').count() > 1, true, 'the audit trail, at once after a fresh login')
  // Ten minutes later (the IdP's session is made that old), a single sign-on login of the app gets that old auth_time…
  const opSession = await stack.idp!.provider.Session.find((await context.cookies(issuer)).find((c) => c.name === 'op_session')!.value)
  opSession!.loginTs = opSession!.loginTs! - 600
  await opSession!.persist()
  await page.goto(`${baseUrl}/auth/login?returnTo=%2Fprofile`)
  await page.waitForURL(`${baseUrl}/profile`)
  const before = (await context.cookies(baseUrl)).find((c) => c.name === 'oidc.sid')!.value
  // …so the admin page sends the browser to the IdP's login form again (max_age=300), then back.
  await page.click('#audit-link')
  await page.waitForURL((url) => url.origin === issuer)
  t.match(await page.textContent('body'), /sign-in/i, 'the IdP asks to log in again')
  await page.fill('input[name="login"]', 'admin')
  await page.fill('input[name="password"]', 'any password')
  await Promise.all([page.waitForURL(`${baseUrl}/admin/audit`), page.click('button[type="submit"]')])
  t.equal(await page.textContent('h1'), 'Audit trail', 'back on the admin page after the step-up login')
  t.match(await page.textContent('#audit'), 'login', 'the step-up login is in the trail')
  const after = (await context.cookies(baseUrl)).find((c) => c.name === 'oidc.sid')!.value
  t.not(after, before, 'the step-up login gave a new session id')

  await page.click('#logout')
  await page.waitForURL((url) => url.origin === issuer)
  await page.click('button[name="logout"]')
  await page.waitForURL(`${baseUrl}/`)
  t.match(await page.textContent('body'), 'You are not signed in')
  const guarded = await page.goto(`${baseUrl}/product/0`)
  t.equal(new URL(guarded!.url()).origin, issuer, 'the product page now sends the browser to log in')
})
