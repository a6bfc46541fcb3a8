// HMAC-signed ID tokens (OIDC Core 10.1: the key is the client secret) are accepted
// only when configured with `idTokenSigningAlgs`; then an HS256 token keyed by the
// client secret logs in without any JWKS fetch, while one keyed by anything else
// (e.g. the RSA public key: the key-confusion attack) is refused. Asymmetric tokens
// still verify through the JWKS when configured alongside.
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, opCalls, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'
import type { IdTokenSignOptions } from '../helpers/hostile-op.js'

/** A login with `idTokenSigningAlgs` (or the default) whose ID token is signed as `sign` says. */
async function loginWith (t: Test, idTokenSigningAlgs: string[] | undefined, sign: IdTokenSignOptions): Promise<{ attack: Attack, res: CallbackAnswer }> {
  const attack = await startAttack(t, idTokenSigningAlgs === undefined ? {} : { app: { idTokenSigningAlgs } })
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign(ctx.defaultClaims(), sign) } }))
  const res = await hitCallback(attack, await reachCallback(attack))
  return { attack, res }
}

const SECRET = 'test-secret'

t.test('HS256 configured: an ID token keyed by the client secret logs in, without fetching the JWKS', async (t) => {
  const { attack, res } = await loginWith(t, ['HS256'], { alg: 'HS256', key: SECRET, kid: null })
  await expectLoggedIn(t, attack, res)
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token'], 'no JWKS request')
})

t.test('HS256 not configured: the same token -> 401 id_token_alg', async (t) => {
  const { attack, res } = await loginWith(t, undefined, { alg: 'HS256', key: SECRET, kid: null })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_alg' })
})

t.test('HS256 configured: keyed by the RSA public key (key confusion) -> 401 id_token_signature', async (t) => {
  const { attack, res } = await loginWith(t, ['HS256'], { alg: 'HS256', key: 'public-pem' })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_signature' })
})

t.test('HS256 configured: keyed by another secret -> 401 id_token_signature', async (t) => {
  const { attack, res } = await loginWith(t, ['HS256'], { alg: 'HS256', key: 'not-the-client-secret', kid: null })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_signature' })
})

t.test('only HS256 configured: an RS256 token -> 401 id_token_alg', async (t) => {
  const { attack, res } = await loginWith(t, ['HS256'], { alg: 'RS256' })
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_alg' })
})

t.test('HS256 and RS256 configured: an RS256 token still verifies through the JWKS', async (t) => {
  const { attack, res } = await loginWith(t, ['HS256', 'RS256'], { alg: 'RS256' })
  await expectLoggedIn(t, attack, res)
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'the JWKS was fetched')
})
