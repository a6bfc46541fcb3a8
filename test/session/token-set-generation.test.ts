// A request that loaded the session before a refresh elsewhere, and then changes
// the session (the app's own data; the idle deadline does the same), writes its
// change with the newer token set, never the older one: with rotating refresh
// tokens the IdP has revoked the older refresh token, and the user would be
// logged out at the next refresh.
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'
import { redisStore, uniquePrefix } from '../helpers/redis.js'

declare module 'fastify' {
  interface Session {
    /** The app's own data, beside the plugin's. */
    cart?: string[] | undefined
  }
}

// Two instances on one Redis: the slow request on A, the refresh on B, the next refresh on A
// (whose own refresh memory knows nothing of B's). One instance with the memory store.
for (const kind of ['memory', 'redis'] as const) {
  t.test(`${kind} store: a slow request saving the app's data after a refresh keeps the refreshed tokens`, async (t) => {
    const port = await freePort()
    const store = kind === 'redis' ? redisStore(t, uniquePrefix()) : undefined
    const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, rotateRefreshToken: true })
    let entered!: () => void
    const loaded = new Promise<void>((resolve) => { entered = resolve })
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const { baseUrl, events } = await buildApp(t, {
      port,
      issuer: idp.issuer,
      clientId: idp.client.clientId,
      clientSecret: idp.client.clientSecret,
      ...(store === undefined ? {} : { sessionStore: store }),
      routes: (app) => {
        app.get('/cart/add', { preHandler: app.requireAuth() }, async (request) => {
          entered()
          await gate
          request.session.set('cart', ['book'])
          return { ok: true }
        })
        app.get('/cart', { preHandler: app.requireAuth() }, async (request) => ({ cart: request.session.get('cart') ?? null }))
      }
    })
    const other = store === undefined
      ? baseUrl
      : (await buildApp(t, { port: await freePort(), issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store })).baseUrl
    const browser = new Browser()
    t.equal((await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)).status, 200)

    const slow = browser.get(`${baseUrl}/cart/add`)
    await loaded
    t.equal((await browser.request('POST', `${other}/auth/refresh`)).status, 200, 'refreshed while the slow request holds the older session')
    release()
    t.equal((await slow).status, 200)

    const again = await browser.request('POST', `${baseUrl}/auth/refresh`)
    t.equal(again.status, 200, 'the next refresh uses the rotated refresh token')
    t.same(idp.log.filter((e) => e.grantType === 'refresh_token').map((e) => e.status), [200, 200], 'the IdP never saw the older refresh token again')
    t.same(JSON.parse((await browser.get(`${baseUrl}/cart`, { accept: 'application/json' })).body), { cart: ['book'] }, 'the slow request\'s own change is kept')
    t.notOk(events.some((e) => e.type === 'refresh_failure'), 'no refresh failed')
  })
}
