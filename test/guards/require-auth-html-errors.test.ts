// requireAuth's refusals to a browser asking for HTML: the same escaped error page
// as the plugin's routes (401 for a request that is not a GET navigation, 403, and
// the 502/504 of a refresh the IdP could not answer), with `Retry-After` on the
// upstream errors. JSON clients keep their JSON answers (with `Retry-After` too), and
// an unauthenticated GET navigation is still sent to log in (302).
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack, type Attack } from '../helpers/attack.js'
import { json, type BrowserResponse } from '../helpers/browser.js'
import type { TokenScript } from '../helpers/hostile-op.js'

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
const JSON_ACCEPT = { accept: 'application/json' }

/** Logged in; with `refresh`, every guarded request refreshes and the IdP answers it so. */
async function loggedIn (t: Test, refresh?: TokenScript): Promise<Attack> {
  const attack = await startAttack(t, {
    app: {
      httpTimeout: 1000,
      ...(refresh === undefined ? {} : { refreshLeeway: 600 }),
      routes: (app) => {
        app.get('/admin', { preHandler: app.requireAuth({ roles: ['admin'] }) }, async () => ({ ok: true }))
        app.post('/orders', { preHandler: app.requireAuth() }, async () => ({ ok: true }))
      }
    }
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  scriptToken(attack, (ctx) => ctx.grantType === 'refresh_token' ? refresh : undefined)
  return attack
}

function isErrorPage (t: Test, res: BrowserResponse, status: number, code: string): void {
  t.equal(res.status, status)
  t.match(res.headers.get('content-type'), /^text\/html; charset=utf-8/, 'an HTML page')
  t.match(res.body, new RegExp(`<code>${code}</code>`), `naming ${code}`)
  t.match(res.headers.get('content-security-policy'), /default-src 'none'/)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
}

t.test('403 to a navigation: the error page; JSON clients: JSON', async (t) => {
  const attack = await loggedIn(t)
  isErrorPage(t, await attack.browser.get(`${attack.baseUrl}/admin`, HTML), 403, 'FST_OIDC_FORBIDDEN')
  const api = await attack.browser.get(`${attack.baseUrl}/admin`, JSON_ACCEPT)
  t.equal(api.status, 403)
  t.match(JSON.parse(api.body), { statusCode: 403, code: 'FST_OIDC_FORBIDDEN' })
})

t.test('401 to a post from a page without a session: the error page; a GET navigation still goes to log in', async (t) => {
  const attack = await startAttack(t, { app: { routes: (app) => { app.post('/orders', { preHandler: app.requireAuth() }, async () => ({ ok: true })) } } })
  isErrorPage(t, await attack.browser.post(`${attack.baseUrl}/orders`, json({ item: '1' }), HTML), 401, 'FST_OIDC_UNAUTHENTICATED')
  const nav = await attack.browser.get(`${attack.baseUrl}/private?x=%3Cscript%3E`, HTML)
  t.equal(nav.status, 302)
  t.equal(nav.headers.get('location'), `/auth/login?returnTo=${encodeURIComponent('/private?x=%3Cscript%3E')}`)
  const api = await attack.browser.post(`${attack.baseUrl}/orders`, json({ item: '1' }), JSON_ACCEPT)
  t.equal(api.status, 401)
  t.equal(JSON.parse(api.body).code, 'FST_OIDC_UNAUTHENTICATED')
})

t.test('502 from a refresh (the IdP answers 500): the page with Retry-After; JSON with Retry-After; the session stays', async (t) => {
  const attack = await loggedIn(t, { status: 500, body: { error: 'server_error', error_description: '<img src=x onerror=alert(1)>' } })
  const page = await attack.browser.get(`${attack.baseUrl}/private`, HTML)
  isErrorPage(t, page, 502, 'FST_OIDC_IDP_BAD_RESPONSE')
  t.match(page.headers.get('retry-after'), /^\d+$/, 'Retry-After')
  t.notMatch(page.body, /<img/, 'nothing the IdP wrote becomes markup')
  const api = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(api.status, 502)
  t.equal(JSON.parse(api.body).code, 'FST_OIDC_IDP_BAD_RESPONSE')
  t.match(api.headers.get('retry-after'), /^\d+$/, 'Retry-After')
  t.equal(JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body).authenticated, true)
})

t.test('504 from a refresh (the IdP is too slow): the page with Retry-After', async (t) => {
  const attack = await loggedIn(t, { delayMs: 4000 })
  const page = await attack.browser.get(`${attack.baseUrl}/private`, HTML)
  isErrorPage(t, page, 504, 'FST_OIDC_IDP_TIMEOUT')
  t.match(page.headers.get('retry-after'), /^\d+$/, 'Retry-After')
})
