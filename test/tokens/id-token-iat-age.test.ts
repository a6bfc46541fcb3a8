// An ID token is minted for the code exchange it answers: one issued more than
// 600 s (+ the clock tolerance) ago is refused even when its `exp` is still in
// the future — 401 FST_OIDC_ID_TOKEN_INVALID, reason id_token_iat, no session.
import type { JWTPayload } from 'jose'
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, opCalls, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, AttackOptions, CallbackAnswer } from '../helpers/attack.js'

const now = (): number => Math.floor(Date.now() / 1000)

async function loginWith (t: Test, changes: JWTPayload, options: AttackOptions = {}): Promise<{ attack: Attack, res: CallbackAnswer }> {
  const attack = await startAttack(t, options)
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), ...changes }) } }))
  const res = await hitCallback(attack, await reachCallback(attack))
  return { attack, res }
}

t.test('iat 700 s ago (beyond 600 s + 60 s), exp in an hour -> 401 id_token_iat', async (t) => {
  const { attack, res } = await loginWith(t, { iat: now() - 700, exp: now() + 3600 })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_iat' })
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'the OP saw nothing after the code exchange')
})

t.test('iat a day ago, exp in a day -> 401 id_token_iat', async (t) => {
  const { attack, res } = await loginWith(t, { iat: now() - 86400, exp: now() + 86400 })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_iat' })
})

t.test('iat 630 s ago is within 600 s + the 60 s tolerance: logs in', async (t) => {
  const { attack, res } = await loginWith(t, { iat: now() - 630, exp: now() + 3600 })
  await expectLoggedIn(t, attack, res)
})

t.test('with clockTolerance 0, iat 630 s ago is refused', async (t) => {
  const { attack, res } = await loginWith(t, { iat: now() - 630, exp: now() + 3600 }, { app: { clockTolerance: 0 } })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_iat' })
})
