// One refresh, one audit event per flight: concurrent guarded requests of one
// session that all need a refresh share a single refresh grant at the IdP, and
// when it fails, a single refresh_failure event is recorded — whether the
// failure ends the session (invalid_grant) or not (the IdP answers 500).
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'
import type { BrowserResponse } from '../helpers/browser.js'
import type { TokenScript } from '../helpers/hostile-op.js'

const CONCURRENT = 5
const JSON_ACCEPT = { accept: 'application/json' }

/** Logged in with tokens living 300 s and a refresh leeway of 600 s: every guarded request refreshes. */
async function loggedIn (t: Test, refreshAnswer: TokenScript): Promise<Attack> {
  const attack = await startAttack(t, { app: { refreshLeeway: 600 } })
  scriptToken(attack, (ctx) => ctx.grantType === 'refresh_token' ? refreshAnswer : undefined)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

const refreshGrants = (attack: Attack): number => attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length

function clearsSessionCookie (res: BrowserResponse): boolean {
  return res.headers.getSetCookie().some((c) => {
    if (!c.startsWith('oidc.sid=')) return false
    const expires = /;\s*expires=([^;]+)/i.exec(c)?.[1]
    return /;\s*max-age=0\b/i.test(c) || (expires !== undefined && Date.parse(expires) < Date.now())
  })
}

/** CONCURRENT guarded API requests sent at once with the same session cookie. */
async function burst (attack: Attack): Promise<BrowserResponse[]> {
  return await Promise.all(Array.from({ length: CONCURRENT }, async () => await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)))
}

t.test('invalid_grant under concurrent requests: one refresh grant, one refresh_failure, all 401, the session is gone', async (t) => {
  // The IdP takes its time, so every request joins the refresh in flight.
  const attack = await loggedIn(t, { status: 400, body: { error: 'invalid_grant', error_description: 'revoked' }, delayMs: 500 })
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  t.ok(sid, 'a session cookie')

  const answers = await burst(attack)
  t.same(answers.map((r) => r.status), Array(CONCURRENT).fill(401), 'every request answered 401')
  t.same(answers.map((r) => JSON.parse(r.body).code), Array(CONCURRENT).fill('FST_OIDC_INVALID_GRANT'), 'each got the refusal of the shared refresh')
  t.ok(answers.every(clearsSessionCookie), 'each answer clears the session cookie')
  t.equal(refreshGrants(attack), 1, 'exactly one refresh grant reached the IdP')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [['refresh_failure', 'invalid_grant', 'alice']], 'exactly one refresh_failure event')

  const old = await fetch(`${attack.baseUrl}/auth/session`, { headers: { cookie: `oidc.sid=${sid}` } })
  t.same(await old.json(), { authenticated: false, user: null, expiresAt: null }, 'the old session id authenticates nothing')
  const again = await fetch(`${attack.baseUrl}/private`, { headers: { cookie: `oidc.sid=${sid}`, ...JSON_ACCEPT } })
  t.equal(again.status, 401)
  t.equal(refreshGrants(attack), 1, 'no refresh is tried for the ended session')
})

t.test('IdP down (500) under concurrent requests: one refresh grant, one refresh_failure, all 502, the session survives', async (t) => {
  const attack = await loggedIn(t, { status: 500, body: { error: 'server_error' }, delayMs: 500 })

  const answers = await burst(attack)
  t.same(answers.map((r) => r.status), Array(CONCURRENT).fill(502), 'every request answered 502')
  t.same(answers.map((r) => JSON.parse(r.body).code), Array(CONCURRENT).fill('FST_OIDC_IDP_BAD_RESPONSE'))
  t.notOk(answers.some(clearsSessionCookie), 'no answer clears the session cookie')
  t.equal(refreshGrants(attack), 1, 'exactly one refresh grant reached the IdP')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [['refresh_failure', 'token_error']], 'exactly one refresh_failure event')

  const session = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { authenticated: boolean }
  t.equal(session.authenticated, true, 'the session is still there')
})
