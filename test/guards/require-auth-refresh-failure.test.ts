// requireAuth when the refresh it needs fails. An IdP that is down (5xx) or slow
// is the IdP's problem: 502 / 504, the session survives and works again once the
// IdP is back (after a 504, once the grant still at the IdP settled: 503 until
// then). A refresh the IdP refuses (invalid_grant) ends the session: a browser
// navigation is sent to log in again with its cookie cleared, an API call gets 401.
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'
import type { BrowserResponse } from '../helpers/browser.js'
import type { TokenScript } from '../helpers/hostile-op.js'
import { until } from '../helpers/rotating-op.js'

const HTML = { accept: 'text/html,application/xhtml+xml' }
const JSON_ACCEPT = { accept: 'application/json' }

/**
 * Logged in at a hostile OP whose tokens live 300 s, with a refresh leeway of 600 s:
 * every guarded request refreshes. `refreshAnswer` scripts the refresh grant (undefined: the default answer).
 */
async function loggedIn (t: Test, httpTimeout?: number): Promise<Attack & { refreshAnswer: TokenScript | undefined }> {
  const attack = await startAttack(t, { app: { refreshLeeway: 600, ...(httpTimeout === undefined ? {} : { httpTimeout }) } })
  const setup = Object.assign(attack, { refreshAnswer: undefined as TokenScript | undefined })
  scriptToken(attack, (ctx) => ctx.grantType === 'refresh_token' ? setup.refreshAnswer : undefined)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return setup
}

const refreshGrants = (attack: Attack): number => attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length

/** The Set-Cookie that clears the session cookie, if any. */
function sessionCookieCleared (res: BrowserResponse): boolean {
  return res.headers.getSetCookie().some((c) => {
    if (!c.startsWith('oidc.sid=')) return false
    const expires = /;\s*expires=([^;]+)/i.exec(c)?.[1]
    return /;\s*max-age=0\b/i.test(c) || (expires !== undefined && Date.parse(expires) < Date.now())
  })
}

async function authenticated (attack: Attack): Promise<boolean> {
  return (JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { authenticated: boolean }).authenticated
}

t.test('refresh answered 500: 502 FST_OIDC_IDP_BAD_RESPONSE, the session survives and works once the IdP is back', async (t) => {
  const attack = await loggedIn(t)
  attack.refreshAnswer = { status: 500, body: { error: 'server_error', error_description: 'maintenance' } }

  const res = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(res.status, 502)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_IDP_BAD_RESPONSE')
  t.equal(refreshGrants(attack), 1, 'the refresh was tried')
  t.notOk(sessionCookieCleared(res), 'the session cookie is kept')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [['refresh_failure', 'token_error', 'alice']])

  const page = await attack.browser.get(`${attack.baseUrl}/private`, HTML)
  t.equal(page.status, 502, 'a browser navigation gets the error (from the app\'s error handler), not a login redirect')
  t.equal(page.headers.get('location'), null)
  t.equal(await authenticated(attack), true, 'the session is still there')

  attack.refreshAnswer = undefined
  const again = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(again.status, 200, 'the IdP is back: the same session works')
  t.same(JSON.parse(again.body), { sub: 'alice', roles: ['user'] })
  t.equal(attack.events.at(-1)?.type, 'refresh', 'and was refreshed')
})

t.test('refresh slower than httpTimeout: 504 FST_OIDC_IDP_TIMEOUT, the session survives', async (t) => {
  const attack = await loggedIn(t, 300)
  attack.refreshAnswer = { delayMs: 5000 }

  const start = Date.now()
  const res = await attack.browser.get(`${attack.baseUrl}/private`, HTML)
  const elapsed = Date.now() - start
  t.equal(res.status, 504, 'a browser navigation gets 504, not a login redirect')
  t.match(res.body, /<code>FST_OIDC_IDP_TIMEOUT<\/code>/, 'the error page')
  t.ok(elapsed < 2000, `answered after ${elapsed} ms (time-out 300 ms)`)
  t.notOk(sessionCookieCleared(res), 'the session cookie is kept')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [['refresh_failure', 'idp_timeout']])

  attack.refreshAnswer = undefined
  const pending = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(pending.status, 503, 'while the grant may still be at the IdP, no second one: 503')
  t.equal(JSON.parse(pending.body).code, 'FST_OIDC_REFRESH_PENDING')
  t.equal(refreshGrants(attack), 1)
  // The grant's own time-out (5 × 300 ms) ends it: the IdP answered nothing, the back-off is over.
  await until(() => attack.events.filter((e) => e.reason === 'idp_timeout').length === 2, 'the grant to be given up')
  t.equal((await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)).status, 200, 'works again once the IdP answers in time')
})

t.test('refresh refused (invalid_grant), browser navigation: 302 to login with returnTo, session cookie cleared', async (t) => {
  const attack = await loggedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  t.ok(sid, 'a session cookie')
  attack.refreshAnswer = { status: 400, body: { error: 'invalid_grant', error_description: 'grant revoked' } }

  const res = await attack.browser.get(`${attack.baseUrl}/private?tab=2`, HTML)
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), `/auth/login?returnTo=${encodeURIComponent('/private?tab=2')}`, 'to login, back here afterwards')
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.ok(sessionCookieCleared(res), 'the session cookie is cleared')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [['refresh_failure', 'invalid_grant', 'alice']])

  const old = await fetch(`${attack.baseUrl}/auth/session`, { headers: { cookie: `oidc.sid=${sid}` } })
  t.equal((await old.json() as { authenticated: boolean }).authenticated, false, 'the old session id authenticates nothing')
  t.equal(refreshGrants(attack), 1)
})

t.test('refresh refused (invalid_grant), API call: 401 FST_OIDC_INVALID_GRANT and the session is gone', async (t) => {
  const attack = await loggedIn(t)
  attack.refreshAnswer = { status: 400, body: { error: 'invalid_grant' } }
  const res = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_INVALID_GRANT')
  t.ok(sessionCookieCleared(res), 'the session cookie is cleared')
  t.equal(await authenticated(attack), false)
  attack.refreshAnswer = undefined
  const later = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(later.status, 401, 'no session to refresh any more')
  t.equal(JSON.parse(later.body).code, 'FST_OIDC_UNAUTHENTICATED')
  t.equal(refreshGrants(attack), 1, 'no second refresh attempt')
})
