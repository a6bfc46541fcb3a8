// What a refresh-token answer may change in the session. A new ID token must name
// the same user (else 401 FST_OIDC_REFRESH_FAILED, id_token_mismatch, and the
// session ends); an answer without `scope` keeps the granted scopes, one with a
// narrower `scope` narrows them (RFC 6749 5.1).
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'
import type { TokenContext, TokenScript } from '../helpers/hostile-op.js'

function routes (app: FastifyInstance): void {
  app.get('/email', { preHandler: app.requireAuth({ scopes: ['email'] }) }, async () => ({ ok: true }))
}

/** Logged in at a hostile OP whose refresh grant answers `refresh(ctx)`. */
async function loggedIn (t: Test, refresh: (ctx: TokenContext) => Promise<TokenScript>): Promise<Attack> {
  const attack = await startAttack(t, { app: { routes } })
  scriptToken(attack, async (ctx) => ctx.grantType === 'refresh_token' ? await refresh(ctx) : undefined)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

const refresh = async (attack: Attack): Promise<{ status: number, body: Record<string, unknown> }> => {
  const res = await attack.browser.post(`${attack.baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> }
}

t.test('a refreshed ID token for another user -> 401 FST_OIDC_REFRESH_FAILED, the session ends', async (t) => {
  const attack = await loggedIn(t, async (ctx) => ({
    body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), sub: 'mallory' }) }
  }))
  const res = await refresh(attack)
  t.equal(res.status, 401)
  t.equal(res.body['code'], 'FST_OIDC_REFRESH_FAILED')
  t.match(res.body['message'], /another user/)
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [['refresh_failure', 'id_token_mismatch', 'alice']])
  const session = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { authenticated: boolean, user: unknown }
  t.same(session, { authenticated: false, user: null, expiresAt: null }, 'logged out, and never as mallory')
})

t.test('a refreshed ID token for the same user replaces the claims', async (t) => {
  const attack = await loggedIn(t, async (ctx) => ({
    body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), name: 'Alice L.' }) }
  }))
  const res = await refresh(attack)
  t.equal(res.status, 200)
  t.match(res.body['user'], { sub: 'alice', name: 'Alice L.' }, 'the new claims')
})

t.test('a refresh answer without scope keeps the granted scopes', async (t) => {
  const attack = await loggedIn(t, async (ctx) => {
    const body = await ctx.defaultBody()
    delete body['scope']
    return { body }
  })
  t.equal((await attack.browser.get(`${attack.baseUrl}/email`, { accept: 'application/json' })).status, 200, 'email scope before the refresh')
  t.equal((await refresh(attack)).status, 200)
  const tokenRequests = attack.op.requests('/token').map((r) => r.body['grant_type'])
  t.same(tokenRequests, ['authorization_code', 'refresh_token'], 'the refresh happened')
  t.equal((await attack.browser.get(`${attack.baseUrl}/email`, { accept: 'application/json' })).status, 200, 'still granted after it')
})

t.test('a refresh answer with a narrower scope narrows the session\'s scopes', async (t) => {
  const attack = await loggedIn(t, async (ctx) => ({ body: { ...await ctx.defaultBody(), scope: 'openid profile' } }))
  t.equal((await refresh(attack)).status, 200)
  const res = await attack.browser.get(`${attack.baseUrl}/email`, { accept: 'application/json' })
  t.equal(res.status, 403)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_FORBIDDEN')
})
