// ID tokens that are JWS-shaped but not acceptable JWTs: signed by the OP's own key
// over a payload that is not a JSON claims set, or carrying a critical header
// extension the RP does not understand (RFC 7515 4.1.11 says: reject). Each is a
// 401 FST_OIDC_ID_TOKEN_INVALID with reason id_token_malformed and no session.
import t from 'tap'
import type { Test } from 'tap'
import { CompactSign } from 'jose'
import { expectRejected, hitCallback, opCalls, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'
import type { HostileOp, TokenContext } from '../helpers/hostile-op.js'

type MakeIdToken = (ctx: TokenContext, op: HostileOp) => Promise<string>

async function loginWith (t: Test, make: MakeIdToken): Promise<{ attack: Attack, res: CallbackAnswer }> {
  const attack = await startAttack(t)
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await make(ctx, attack.op) } }))
  const res = await hitCallback(attack, await reachCallback(attack))
  return { attack, res }
}

/** A compact JWS over `payload`, signed RS256 with the OP's current (published) key. */
async function signedByOp (op: HostileOp, payload: string): Promise<string> {
  return await new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: 'RS256', kid: op.keys.rsa.kid })
    .sign(op.keys.rsa.privateKey)
}

const payloads: Array<{ name: string, payload: string }> = [
  { name: 'a JSON array', payload: '["sub","alice"]' },
  { name: 'a JSON string', payload: '"alice"' },
  { name: 'not JSON at all', payload: 'sub=alice' }
]

for (const { name, payload } of payloads) {
  t.test(`a JWS correctly signed by the OP whose payload is ${name} -> 401 id_token_malformed`, async (t) => {
    const { attack, res } = await loginWith(t, async (_ctx, op) => await signedByOp(op, payload))
    await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_malformed' })
    t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'the signature was checked, then the payload refused')
  })
}

t.test('an unknown critical header extension -> 401 id_token_malformed', async (t) => {
  const { attack, res } = await loginWith(t, (ctx) => ctx.sign(ctx.defaultClaims(), { header: { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true } }))
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_malformed' })
})

t.test('a malformed crit header (not a list of names) -> 401 id_token_malformed', async (t) => {
  const { attack, res } = await loginWith(t, async (ctx, op) => {
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: op.keys.rsa.kid, crit: 'exp' })).toString('base64url')
    const body = Buffer.from(JSON.stringify(ctx.defaultClaims())).toString('base64url')
    // The signature does not matter: the header is refused before it is checked.
    const real = await ctx.sign(ctx.defaultClaims())
    return `${header}.${body}.${real.split('.')[2]!}`
  })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_malformed' })
})
