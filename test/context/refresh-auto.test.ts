// requireAuth refreshes an access token that is about to expire, once per
// session even when many requests of that session arrive together.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

// The IdP's access tokens live 3600 s; with this leeway they are "about to
// expire" 3 s after they are issued, and a refreshed one is fresh for 3 s.
const TTL = 3600
const LEEWAY = TTL - 3

// Each subtest has its own IdP and app, and mostly waits: run them side by side.
t.jobs = 3

for (const rotateRefreshToken of [false, true]) {
  t.test(`20 concurrent requests with an expiring token cause one refresh (rotateRefreshToken: ${rotateRefreshToken})`, async (t) => {
    const port = await freePort()
    const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, accessTokenTtl: TTL, rotateRefreshToken })
    const { baseUrl, events } = await buildApp(t, {
      port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, refreshLeeway: LEEWAY
    })
    const browser = new Browser()
    const login = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
    t.equal(login.status, 200, 'logged in')
    const before = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body) as { expiresAt: number }
    t.equal(idp.countGrants('refresh_token'), 0, 'no refresh right after login')

    // Wait until the token is within the leeway.
    const due = (before.expiresAt - LEEWAY) * 1000 + 50
    await sleep(Math.max(0, due - Date.now()))

    const cookie = Object.entries(await browser.cookies(baseUrl)).map(([k, v]) => `${k}=${v}`).join('; ')
    const answers = await Promise.all(Array.from({ length: 20 }, async () => {
      const res = await fetch(`${baseUrl}/token`, { headers: { cookie, accept: 'application/json' } })
      return { status: res.status, body: await res.json() as { length?: number } }
    }))
    t.same(answers.map((a) => a.status), Array(20).fill(200), 'every request answered 200')
    t.ok(answers.every((a) => typeof a.body.length === 'number' && a.body.length > 0), 'every handler got an access token')
    t.equal(idp.countGrants('refresh_token'), 1, 'the IdP saw exactly one refresh_token grant')
    t.ok(idp.log.filter((e) => e.grantType === 'refresh_token').every((e) => e.status === 200), 'the IdP granted it')

    const after = await browser.get(`${baseUrl}/auth/session`)
    const session = JSON.parse(after.body) as { authenticated: boolean, expiresAt: number, user: { sub: string } | null }
    t.equal(session.authenticated, true, 'the session is still valid')
    t.equal(session.user?.sub, 'demo')
    t.ok(session.expiresAt > before.expiresAt, 'the session holds the new, later expiry')
    t.equal(idp.countGrants('refresh_token'), 1, 'reading the fresh session refreshes nothing')

    const refreshes = events.filter((e) => e.type === 'refresh')
    t.equal(refreshes.length, 1, 'one refresh audit event')
    t.equal(refreshes[0]?.sub, 'demo')
    t.equal(events.filter((e) => e.type === 'refresh_failure').length, 0, 'no refresh failure')

    // Once the refreshed token is about to expire too, the next request
    // refreshes again (with the rotated refresh token when rotation is on).
    await sleep(Math.max(0, (session.expiresAt - LEEWAY) * 1000 + 50 - Date.now()))
    const again = await browser.get(`${baseUrl}/private`, { accept: 'application/json' })
    t.equal(again.status, 200, 'a second refresh works')
    t.equal(idp.countGrants('refresh_token'), 2)
    t.ok(idp.log.filter((e) => e.grantType === 'refresh_token').every((e) => e.status === 200), 'the IdP granted both')
    t.equal(events.filter((e) => e.type === 'refresh').length, 2)
  })
}

t.test('a fresh access token is not refreshed', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl, events } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  const answers = await Promise.all(Array.from({ length: 5 }, async () => await browser.get(`${baseUrl}/token`, { accept: 'application/json' })))
  t.same(answers.map((a) => a.status), Array(5).fill(200))
  t.equal(idp.countGrants('refresh_token'), 0, 'no refresh_token grant')
  t.equal(events.filter((e) => e.type === 'refresh').length, 0, 'no refresh event')
})
