// `client.userinfo(tokens)` with the session's token set (ID token included):
// OIDC Core 5.3.4 — a userinfo answer about another `sub` than the ID token's is
// not used: it rejects with FST_OIDC_IDP_BAD_RESPONSE (502, reason
// userinfo_sub_mismatch). The same sub resolves. Given a bare access-token string
// (or a token set without an ID token) there is no sub to compare with, and the
// answer is returned as the IdP gave it — the caller must check it.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { OidcTokenSet } from '../../lib/index.js'
import { expectLoggedIn, expectNoLeak, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'

type Mode = 'tokens' | 'access-token' | 'no-id-token' | 'bad-id-token'

/**
 * `/check?mode=` calls userinfo server-side with the session's tokens and answers
 * only the sub it got, or the error's code and reason — never a token.
 */
function checkRoute (app: FastifyInstance): void {
  app.get<{ Querystring: { mode: Mode } }>('/check', { preHandler: app.requireAuth() }, async (request, reply) => {
    const tokens = (request.oidc as unknown as { payload: { tokens: OidcTokenSet } }).payload.tokens
    const arguments_ = {
      tokens,
      'access-token': tokens.accessToken,
      'no-id-token': { accessToken: tokens.accessToken, tokenType: tokens.tokenType },
      'bad-id-token': { ...tokens, idToken: 'not-a-jwt' }
    }
    try {
      const info = await app.oidc.client().userinfo(arguments_[request.query.mode])
      return { sub: info['sub'] }
    } catch (err) {
      if (err instanceof TypeError) return await reply.code(500).send({ code: 'TypeError', reason: err.message })
      const { statusCode, code, reason } = err as { statusCode: number, code: string, reason?: string }
      return await reply.code(statusCode).send({ code, reason })
    }
  })
}

async function loggedIn (t: Test): Promise<Attack> {
  const attack = await startAttack(t, { app: { routes: checkRoute } })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

async function check (attack: Attack, mode: Mode): Promise<{ status: number, body: unknown }> {
  const res = await attack.browser.get(`${attack.baseUrl}/check?mode=${mode}`, { accept: 'application/json' })
  return { status: res.status, body: JSON.parse(res.body) }
}

t.test('userinfo about another sub than the ID token\'s -> FST_OIDC_IDP_BAD_RESPONSE (userinfo_sub_mismatch)', async (t) => {
  const attack = await loggedIn(t)
  attack.op.onUserinfo = (ctx) => ({ body: { ...ctx.defaultClaims(), sub: 'mallory' } })
  t.same(await check(attack, 'tokens'), { status: 502, body: { code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'userinfo_sub_mismatch' } })
  const [request] = attack.op.requests('/userinfo')
  t.ok(request?.headers.authorization?.startsWith('Bearer '), 'the IdP was asked with the access token')
  t.equal(attack.op.requests('/userinfo').length, 1, 'one userinfo request')
})

t.test('userinfo about the ID token\'s sub resolves', async (t) => {
  const attack = await loggedIn(t)
  const res = await attack.browser.get(`${attack.baseUrl}/check?mode=tokens`, { accept: 'application/json' })
  t.same({ status: res.status, body: JSON.parse(res.body) }, { status: 200, body: { sub: 'alice' } })
  expectNoLeak(t, attack, [res])
})

t.test('a bare access token: no sub to compare, another user\'s answer is returned as is', async (t) => {
  const attack = await loggedIn(t)
  attack.op.onUserinfo = (ctx) => ({ body: { ...ctx.defaultClaims(), sub: 'mallory' } })
  t.same(await check(attack, 'access-token'), { status: 200, body: { sub: 'mallory' } }, 'not compared: the caller must check')
  t.same(await check(attack, 'no-id-token'), { status: 200, body: { sub: 'mallory' } }, 'same for a token set without an ID token')
  t.same(await check(attack, 'tokens'), { status: 502, body: { code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'userinfo_sub_mismatch' } },
    'the same answer is refused when the ID token is given')
  t.equal(attack.op.requests('/userinfo').length, 3)
})

t.test('a token set whose ID token cannot be read: userinfo() throws a TypeError before asking the IdP', async (t) => {
  const attack = await loggedIn(t)
  t.same(await check(attack, 'bad-id-token'), { status: 500, body: { code: 'TypeError', reason: 'tokens.idToken is not a readable JWT' } })
  t.equal(attack.op.requests('/userinfo').length, 0, 'nothing was sent')
})
