// A refreshed ID token must be about the same login (OIDC Core 12.2): same sub,
// iss and audience — `aud` compared as a set — and an azp that names this
// client. The same audiences in another order are accepted; another audience
// set or another azp ends the session. `client.refresh(tokens)` called without
// the previous claims compares against the old ID token of the token set.
import t from 'tap'
import type { Test } from 'tap'
import type { JWTPayload } from 'jose'
import type { OidcTokenSet } from '../../lib/index.js'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, AttackOptions } from '../helpers/attack.js'
import type { BrowserResponse } from '../helpers/browser.js'

const JSON_ACCEPT = { accept: 'application/json' }

/**
 * Logged in with `login` claims added to the ID token; the refresh grant answers an
 * ID token with `refresh` claims added. A refresh leeway of 600 s (tokens live 300 s)
 * makes every guarded request refresh, unless `app` says otherwise.
 */
async function loggedIn (t: Test, login: JWTPayload, refresh: () => JWTPayload, app: AttackOptions['app'] = { refreshLeeway: 600 }): Promise<Attack> {
  const attack = await startAttack(t, { app })
  scriptToken(attack, async (ctx) => {
    const body = await ctx.defaultBody()
    const extra = ctx.grantType === 'refresh_token' ? refresh() : login
    return { body: { ...body, id_token: await ctx.sign({ ...ctx.defaultClaims(), ...extra }) } }
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

function clearsSessionCookie (res: BrowserResponse): boolean {
  return res.headers.getSetCookie().some((c) => c.startsWith('oidc.sid=') && (/;\s*max-age=0\b/i.test(c) || /;\s*expires=Thu, 01 Jan 1970/i.test(c)))
}

async function sessionOf (attack: Attack): Promise<{ authenticated: boolean, user: Record<string, unknown> | null }> {
  return JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body)
}

const AUD = ['test-client', 'https://api.example']

t.test('the same aud array in another order: accepted, the session continues with the new claims', async (t) => {
  const attack = await loggedIn(t, { aud: AUD, azp: 'test-client' }, () => ({ aud: [...AUD].reverse(), azp: 'test-client', name: 'Alice (refreshed)' }))
  const res = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(res.status, 200)
  t.same(attack.events.slice(1).map((e) => e.type), ['refresh'])
  const session = await sessionOf(attack)
  t.equal(session.authenticated, true)
  t.equal(session.user?.['name'], 'Alice (refreshed)', 'the refreshed ID token was verified and its claims taken')
  t.same(session.user?.['aud'], [...AUD].reverse())
})

t.test('another audience set: 401 FST_OIDC_REFRESH_FAILED (id_token_mismatch), the session ends', async (t) => {
  const attack = await loggedIn(t, { aud: AUD, azp: 'test-client' }, () => ({ aud: ['test-client', 'https://other.example'], azp: 'test-client' }))
  const res = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_REFRESH_FAILED')
  t.ok(clearsSessionCookie(res), 'the session cookie is cleared')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [['refresh_failure', 'id_token_mismatch']])
  t.equal((await sessionOf(attack)).authenticated, false)
})

// The azp is checked against this client when the ID token is verified, before
// the comparison with the previous claims: the reason is id_token_azp.
t.test('another azp: 401 FST_OIDC_ID_TOKEN_INVALID (id_token_azp), the session ends', async (t) => {
  const attack = await loggedIn(t, { aud: AUD, azp: 'test-client' }, () => ({ aud: AUD, azp: 'https://api.example' }))
  const res = await attack.browser.get(`${attack.baseUrl}/private`, JSON_ACCEPT)
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_ID_TOKEN_INVALID')
  t.ok(clearsSessionCookie(res), 'the session cookie is cleared')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [['refresh_failure', 'id_token_azp']])
  t.equal((await sessionOf(attack)).authenticated, false)
})

t.test('client.refresh(tokens) without previous claims: the old ID token\'s sub is compared', async (t) => {
  let sub = 'alice'
  const attack = await loggedIn(t, {}, () => ({ sub }), {
    routes: (app) => {
      app.get('/raw-refresh', { preHandler: app.requireAuth() }, async (request, reply) => {
        const payload = (request.oidc as unknown as { payload: { tokens: OidcTokenSet } }).payload
        try {
          const { claims } = await app.oidc.client().refresh(payload.tokens)
          return { sub: claims?.sub }
        } catch (err) {
          const { statusCode = 500, code, reason } = err as { statusCode?: number, code?: string, reason?: string }
          return await reply.code(statusCode).send({ code, reason })
        }
      })
    }
  })

  const same = await attack.browser.get(`${attack.baseUrl}/raw-refresh`, JSON_ACCEPT)
  t.equal(same.status, 200, 'a refreshed ID token about alice is accepted')
  t.same(JSON.parse(same.body), { sub: 'alice' })

  sub = 'mallory'
  const other = await attack.browser.get(`${attack.baseUrl}/raw-refresh`, JSON_ACCEPT)
  t.equal(other.status, 401, 'one about mallory is refused')
  t.same(JSON.parse(other.body), { code: 'FST_OIDC_REFRESH_FAILED', reason: 'id_token_mismatch' })
  t.equal(attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length, 2, 'both refreshes reached the IdP')
})
