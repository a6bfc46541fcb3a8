// The callback rejects every forged or unacceptable ID token the hostile OP sends
// back from the code exchange: 401 FST_OIDC_ID_TOKEN_INVALID, a login_failure with
// the failed check as reason, no session, and the OP sees no call after it.
import t from 'tap'
import type { Test } from 'tap'
import type { JWTPayload } from 'jose'
import { expectLoggedIn, expectRejected, hitCallback, opCalls, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'
import { generateOpKey } from '../helpers/hostile-op.js'
import type { HostileOp, TokenContext } from '../helpers/hostile-op.js'

const now = (): number => Math.floor(Date.now() / 1000)

type MakeIdToken = (ctx: TokenContext, op: HostileOp) => Promise<string>

/** A login whose token response carries the ID token `make` builds (the rest is the OP's default answer). */
async function loginWith (t: Test, make: MakeIdToken): Promise<{ attack: Attack, res: CallbackAnswer }> {
  const attack = await startAttack(t)
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await make(ctx, attack.op) } }))
  const res = await hitCallback(attack, await reachCallback(attack))
  return { attack, res }
}

const claims = (ctx: TokenContext, changes: JWTPayload, removed: string[] = []): JWTPayload => {
  const out: JWTPayload = { ...ctx.defaultClaims(), ...changes }
  for (const name of removed) delete out[name]
  return out
}

interface Forgery {
  name: string
  reason: string
  /** False when the token must be refused before any key is looked up. */
  fetchesJwks?: boolean
  make: MakeIdToken
}

const forgeries: Forgery[] = [
  { name: 'iss of another issuer', reason: 'id_token_iss', make: (ctx) => ctx.sign(claims(ctx, { iss: 'https://evil.example' })) },
  { name: 'iss with a trailing slash', reason: 'id_token_iss', make: (ctx, op) => ctx.sign(claims(ctx, { iss: `${op.issuer}/` })) },
  { name: 'aud of another client', reason: 'id_token_aud', make: (ctx) => ctx.sign(claims(ctx, { aud: 'another-client' })) },
  { name: 'aud array without azp', reason: 'id_token_azp', make: (ctx, op) => ctx.sign(claims(ctx, { aud: [op.clientId, 'another-client'] })) },
  {
    name: 'azp of another client',
    reason: 'id_token_azp',
    make: (ctx, op) => ctx.sign(claims(ctx, { aud: [op.clientId, 'another-client'], azp: 'another-client' }))
  },
  { name: 'azp of another client, single aud', reason: 'id_token_azp', make: (ctx) => ctx.sign(claims(ctx, { azp: 'another-client' })) },
  { name: 'no sub', reason: 'id_token_sub', make: (ctx) => ctx.sign(claims(ctx, {}, ['sub'])) },
  { name: 'empty sub', reason: 'id_token_sub', make: (ctx) => ctx.sign(claims(ctx, { sub: '' })) },
  { name: 'expired beyond the tolerance', reason: 'id_token_exp', make: (ctx) => ctx.sign(claims(ctx, { iat: now() - 600, exp: now() - 120 })) },
  { name: 'no exp', reason: 'id_token_exp', make: (ctx) => ctx.sign(claims(ctx, {}, ['exp'])) },
  { name: 'iat in the future beyond the tolerance', reason: 'id_token_iat', make: (ctx) => ctx.sign(claims(ctx, { iat: now() + 120, exp: now() + 600 })) },
  { name: 'wrong nonce', reason: 'id_token_nonce', make: (ctx) => ctx.sign(claims(ctx, { nonce: 'bm90LXRoZS1ub25jZS10aGF0LXdhcy1zZW50LWF0LWFsbA' })) },
  { name: 'no nonce', reason: 'id_token_nonce', make: (ctx) => ctx.sign(claims(ctx, {}, ['nonce'])) },
  { name: 'flipped signature', reason: 'id_token_signature', make: async (ctx, op) => op.flipSignature(await ctx.sign(ctx.defaultClaims())) },
  { name: 'alg none', reason: 'id_token_alg', fetchesJwks: false, make: (ctx) => ctx.sign(ctx.defaultClaims(), { alg: 'none' }) },
  {
    name: 'alg none with the published kid',
    reason: 'id_token_alg',
    fetchesJwks: false,
    make: (ctx, op) => ctx.sign(ctx.defaultClaims(), { alg: 'none', kid: op.keys.rsa.kid, typ: 'JWT' })
  },
  {
    name: 'HS256 keyed with the RSA public key',
    reason: 'id_token_alg',
    fetchesJwks: false,
    make: (ctx) => ctx.sign(ctx.defaultClaims(), { alg: 'HS256', key: 'public-pem' })
  },
  {
    name: 'HS256 keyed with the client secret (not configured)',
    reason: 'id_token_alg',
    fetchesJwks: false,
    make: (ctx) => ctx.sign(ctx.defaultClaims(), { alg: 'HS256', key: 'test-secret' })
  },
  {
    name: 'signed by a key not in the JWKS',
    reason: 'id_token_signature',
    make: async (ctx) => ctx.sign(ctx.defaultClaims(), { key: await generateOpKey('RS256') })
  },
  {
    name: 'signed by a key not in the JWKS, claiming the published kid',
    reason: 'id_token_signature',
    make: async (ctx, op) => ctx.sign(ctx.defaultClaims(), { key: await generateOpKey('RS256', op.keys.rsa.kid) })
  },
  {
    name: 'signed by a key it embeds in its header (jwk)',
    reason: 'id_token_signature',
    make: async (ctx) => {
      const stranger = await generateOpKey('RS256')
      return await ctx.sign(ctx.defaultClaims(), { key: stranger, header: { jwk: { kty: stranger.publicJwk.kty, n: stranger.publicJwk.n, e: stranger.publicJwk.e } } })
    }
  },
  { name: 'at_hash of another access token', reason: 'id_token_at_hash', make: (ctx, op) => ctx.sign(claims(ctx, { at_hash: op.atHash('another-access-token') })) },
  { name: 'not a JWT', reason: 'id_token_malformed', fetchesJwks: false, make: async () => 'not-a-jwt' }
]

for (const forgery of forgeries) {
  t.test(`ID token: ${forgery.name} -> 401`, async (t) => {
    const { attack, res } = await loginWith(t, forgery.make)
    await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: forgery.reason })
    t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', ...(forgery.fetchesJwks === false ? [] : ['GET /jwks'])],
      'the OP saw nothing after the code exchange (no userinfo, no retry)')
  })
}

t.test('ID token: a correct at_hash passes', async (t) => {
  const { attack, res } = await loginWith(t, (ctx) => ctx.sign(claims(ctx, { at_hash: ctx.defaultClaims().at_hash })))
  await expectLoggedIn(t, attack, res)
})

t.test('ID token: no at_hash passes (it is optional in the code flow)', async (t) => {
  const { attack, res } = await loginWith(t, (ctx) => ctx.sign(claims(ctx, {}, ['at_hash'])))
  await expectLoggedIn(t, attack, res)
})

t.test('ID token: iat in the future within the 60 s tolerance passes', async (t) => {
  const { attack, res } = await loginWith(t, (ctx) => ctx.sign(claims(ctx, { iat: now() + 30 })))
  await expectLoggedIn(t, attack, res)
})

t.test('ID token: expired within the 60 s tolerance passes', async (t) => {
  const { attack, res } = await loginWith(t, (ctx) => ctx.sign(claims(ctx, { iat: now() - 300, exp: now() - 30 })))
  await expectLoggedIn(t, attack, res)
})

t.test('ID token: ES256 with the published EC key and its at_hash passes', async (t) => {
  const { attack, res } = await loginWith(t, (ctx, op) => ctx.sign(claims(ctx, { at_hash: op.atHash(ctx.accessToken, 'ES256') }), { alg: 'ES256' }))
  await expectLoggedIn(t, attack, res)
})
