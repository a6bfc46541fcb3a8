// An ID token that is not valid yet (`nbf` beyond the clock tolerance) is refused
// like any other unacceptable claim: 401, reason id_token_claims. Within the
// tolerance, or in the past, it is accepted.
import t from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'

const now = (): number => Math.floor(Date.now() / 1000)

t.test('nbf ten minutes ahead -> 401 id_token_claims', async (t) => {
  const attack = await startAttack(t)
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), nbf: now() + 600 }) } }))
  await expectRejected(t, attack, await hitCallback(attack, await reachCallback(attack)), { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_claims' })
})

t.test('nbf a little ahead, within the 60 s tolerance, or in the past: accepted', async (t) => {
  for (const nbf of [now() + 30, now() - 60]) {
    const attack = await startAttack(t)
    scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), nbf }) } }))
    await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  }
})
