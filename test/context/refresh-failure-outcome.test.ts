// Which refresh failures end the session. The IdP refusing the client (an OAuth
// error other than invalid_grant, e.g. invalid_client with HTTP 401) is answered
// with 401 FST_OIDC_IDP_ERROR, but the user's grant was not refused: the session
// stays and works once the IdP answers normally again. A refreshed ID token that
// does not verify ends the session (reason id_token_signature).
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'
import type { BrowserResponse } from '../helpers/browser.js'
import type { MaybePromise, TokenContext, TokenScript } from '../helpers/hostile-op.js'

const JSON_ACCEPT = { accept: 'application/json' }

type RefreshScript = (ctx: TokenContext) => MaybePromise<TokenScript | undefined>

/** Logged in with tokens living 300 s and a refresh leeway of 600 s: every guarded request refreshes. */
async function loggedIn (t: Test): Promise<Attack & { refresh: RefreshScript | undefined }> {
  const attack = Object.assign(await startAttack(t, { app: { refreshLeeway: 600 } }), { refresh: undefined as RefreshScript | undefined })
  scriptToken(attack, (ctx) => ctx.grantType === 'refresh_token' ? attack.refresh?.(ctx) : undefined)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

function clearsSessionCookie (res: BrowserResponse): boolean {
  return res.headers.getSetCookie().some((c) => {
    if (!c.startsWith('oidc.sid=')) return false
    const expires = /;\s*expires=([^;]+)/i.exec(c)?.[1]
    return /;\s*max-age=0\b/i.test(c) || (expires !== undefined && Date.parse(expires) < Date.now())
  })
}

async function sessionOf (attack: Attack): Promise<{ authenticated: boolean, user: { sub?: string } | null }> {
  return JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body)
}

t.test('refresh refused with invalid_client (HTTP 401): 401 FST_OIDC_IDP_ERROR, the session is not ended', async (t) => {
  const attack = await loggedIn(t)
  attack.refresh = () => ({ status: 401, body: { error: 'invalid_client', error_description: 'client disabled' }, headers: { 'www-authenticate': 'Basic realm="op"' } })

  const res = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_IDP_ERROR')
  t.notOk(clearsSessionCookie(res), 'the session cookie is kept')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [['refresh_failure', 'token_error', 'alice']])
  t.equal(attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length, 1, 'the refresh was tried')

  const session = await sessionOf(attack)
  t.equal(session.authenticated, true, '/auth/session: still authenticated')
  t.equal(session.user?.sub, 'alice')

  attack.refresh = undefined
  const again = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(again.status, 200, 'the IdP answers normally again: the same session works')
  t.same(JSON.parse(again.body), { sub: 'alice', roles: ['user'] })
  t.same(attack.events.slice(2).map((e) => e.type), ['refresh'], 'and was refreshed')
})

t.test('refreshed ID token with a bad signature: 401 FST_OIDC_ID_TOKEN_INVALID, the session ends (id_token_signature)', async (t) => {
  const attack = await loggedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  attack.refresh = async (ctx) => {
    const body = await ctx.defaultBody()
    return { body: { ...body, id_token: attack.op.flipSignature(body['id_token'] as string) } }
  }

  const res = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_ID_TOKEN_INVALID')
  t.ok(clearsSessionCookie(res), 'the session cookie is cleared')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [['refresh_failure', 'id_token_signature', 'alice']])

  attack.refresh = undefined
  const old = await fetch(`${attack.baseUrl}/auth/session`, { headers: { cookie: `oidc.sid=${sid}` } })
  t.equal((await old.json() as { authenticated: boolean }).authenticated, false, 'the old session id authenticates nothing, even with the IdP back to normal')
  const later = await fetch(`${attack.baseUrl}/private`, { headers: { cookie: `oidc.sid=${sid}`, ...JSON_ACCEPT } })
  t.equal(later.status, 401)
  t.equal((await later.json() as { code: string }).code, 'FST_OIDC_UNAUTHENTICATED')
})
