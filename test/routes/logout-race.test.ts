// Logout is final: a request that loaded the session before logout (a slow
// page, or one that changes the session) cannot write it back afterwards.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

for (const touches of [false, true]) {
  t.test(`a slow request${touches ? ' that changes the session' : ''} in flight during logout does not resurrect the session`, async (t) => {
    const port = await freePort()
    const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
    const { baseUrl } = await buildApp(t, {
      port,
      issuer: idp.issuer,
      clientId: idp.client.clientId,
      clientSecret: idp.client.clientSecret,
      routes: (app) => {
        app.get('/slow', { preHandler: app.requireAuth() }, async (request) => {
          await sleep(400)
          if (touches) request.session.set('lastSeen' as never, Date.now() as never)
          return { sub: request.oidc.user?.sub }
        })
      }
    })
    const browser = new Browser()
    await loginAtProvider(browser, `${baseUrl}/auth/login`)
    const cookie = await browser.jar.getCookieString(baseUrl)

    const slow = fetch(`${baseUrl}/slow`, { headers: { cookie } })
    await sleep(100)
    const logout = await fetch(`${baseUrl}/auth/logout`, { headers: { cookie }, redirect: 'manual' })
    t.equal(logout.status, 302)
    const slowAnswer = await slow
    t.equal(slowAnswer.status, 200, 'the request that started while logged in completes')

    const after = await fetch(`${baseUrl}/auth/session`, { headers: { cookie } })
    t.equal((await after.json() as { authenticated: boolean }).authenticated, false, 'the old cookie no longer authenticates')
    for (const setCookie of slowAnswer.headers.getSetCookie()) {
      if (!setCookie.startsWith('oidc.sid=')) continue
      const again = await fetch(`${baseUrl}/auth/session`, { headers: { cookie: setCookie.split(';')[0]! } })
      t.equal((await again.json() as { authenticated: boolean }).authenticated, false, 'nor does a cookie the slow request set')
    }
  })
}

t.test('an authenticated request that changes nothing writes no session and sets no cookie', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`)
  const res = await browser.get(`${baseUrl}/private`)
  t.equal(res.status, 200)
  t.same(res.headers.getSetCookie().filter((c) => c.startsWith('oidc.sid=')), [], 'no Set-Cookie: the session lifetime runs from login')
})
