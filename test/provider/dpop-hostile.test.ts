// DPoP in the relying party against the scriptable OP and in the configuration:
// OIDC_DPOP=true with an IdP that does not do DPoP fails at start (never a
// silent bearer fall-back); a token answer that is not DPoP-bound is refused
// (502, no session, nothing leaked); a use_dpop_nonce answer is retried once
// with the IdP's nonce, and only once; OIDC_DPOP per provider and for all.
import t, { type Test } from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { resolveConfig } from '../../lib/index.js'
import { type Attack, expectLoggedIn, expectRejected, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import { registerError, SESSION_SECRET } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'

for (const [name, listed, message] of [
  ['lists no DPoP algorithm', undefined, /OIDC_DPOP=true but the IdP's metadata lists no dpop_signing_alg_values_supported/],
  ['lists only algorithms a session key is not made for', ['Ed448'], /OIDC_DPOP=true but the IdP accepts DPoP proofs signed with Ed448, none of ES256/]
] as const) {
  t.test(`OIDC_DPOP=true with an IdP that ${name}: register() fails`, async (t) => {
    const op = await startHostileOp(t)
    if (listed === undefined) delete op.metadata['dpop_signing_alg_values_supported']
    else op.metadata['dpop_signing_alg_values_supported'] = [...listed]
    const err = await registerError(t, { env: { OIDC_DPOP: 'true' }, issuer: op.issuer, clientId: op.clientId, clientSecret: 's' })
    t.equal(err?.code, 'FST_OIDC_DISCOVERY_FAILED')
    t.match(err?.message, message)
  })
}

/** The scriptable OP advertising DPoP, and the app with OIDC_DPOP=true. */
async function dpopAttack (t: Test): Promise<Attack> {
  return await startAttack(t, { app: { dpop: true }, beforeApp: (op) => { op.metadata['dpop_signing_alg_values_supported'] = ['PS256', 'ES256'] } })
}

t.test('a bearer token answer to a DPoP token request: 502, no session, nothing leaked', async (t) => {
  const attack = await dpopAttack(t)
  const proofs: string[] = []
  scriptToken(attack, async (ctx) => {
    proofs.push(String(ctx.headers['dpop']))
    return { body: { ...await ctx.defaultBody(), token_type: 'Bearer' } }
  })
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.equal(proofs.length, 1, 'one token request')
  const header = decodeProtectedHeader(proofs[0]!)
  t.match(header, { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } }, 'ES256, the first the IdP lists that is preferred')
  t.notOk('d' in (header.jwk as object), 'the public key only')
  const claims = decodeJwt(proofs[0]!)
  t.match(claims, { htm: 'POST', htu: attack.op.url('/token'), jti: String, iat: Number })
  t.notOk('ath' in claims, 'no ath: no access token yet')
  t.ok(attack.logs.some((line) => line.includes('token_type is not DPoP')), 'the log says what is wrong')
})

t.test('use_dpop_nonce at the token endpoint: the request is sent once more with the IdP\'s nonce', async (t) => {
  const attack = await dpopAttack(t)
  const nonces: Array<unknown> = []
  // The scriptable OP takes the code at its first request: the answer is made then (an IdP asking for a nonce keeps the code).
  let answer: Record<string, unknown> | undefined
  scriptToken(attack, async (ctx) => {
    const nonce = decodeJwt(String(ctx.headers['dpop']))['nonce']
    nonces.push(nonce)
    answer ??= { ...await ctx.defaultBody(), token_type: 'DPoP' }
    if (nonce !== 'n-1') return { status: 400, body: { error: 'use_dpop_nonce', error_description: 'nonce needed' }, headers: { 'dpop-nonce': 'n-1' } }
    return { status: 200, body: answer }
  })
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectLoggedIn(t, attack, res)
  t.same(nonces, [undefined, 'n-1'], 'without a nonce, then with the one the IdP sent')
})

t.test('use_dpop_nonce twice: no third request, the login fails with a coded error', async (t) => {
  const attack = await dpopAttack(t)
  let requests = 0
  scriptToken(attack, () => {
    requests++
    return { status: 400, body: { error: 'use_dpop_nonce', error_description: 'nonce needed' }, headers: { 'dpop-nonce': `n-${requests}` } }
  })
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_IDP_ERROR', reason: 'token_error' })
  t.equal(requests, 2, 'one retry, no more')
})

t.test('OIDC_DPOP: per provider, and once for all of several providers', async (t) => {
  const base = { OIDC_BASE_URL: 'https://shop.example.com', OIDC_SESSION_SECRET: SESSION_SECRET, OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'shop' }
  t.equal(resolveConfig({ env: base }).providers[0]!.dpop, false, 'off by default')
  t.equal(resolveConfig({ env: { ...base, OIDC_DPOP: 'true' } }).providers[0]!.dpop, true)
  t.equal(resolveConfig({ env: base, dpop: true }).providers[0]!.dpop, true, 'the option')
  const several = {
    OIDC_BASE_URL: base.OIDC_BASE_URL,
    OIDC_SESSION_SECRET: SESSION_SECRET,
    OIDC_PROVIDERS: 'a,b',
    OIDC_A_ISSUER: 'https://a.example.com',
    OIDC_A_CLIENT_ID: 'shop',
    OIDC_B_ISSUER: 'https://b.example.com',
    OIDC_B_CLIENT_ID: 'shop'
  }
  const dpops = (env: Record<string, string>): boolean[] => resolveConfig({ env: { ...several, ...env } }).providers.map((p) => p.dpop)
  t.same(dpops({}), [false, false])
  t.same(dpops({ OIDC_DPOP: 'true' }), [true, true], 'the top-level setting is every provider\'s default')
  t.same(dpops({ OIDC_DPOP: 'true', OIDC_B_DPOP: 'false' }), [true, false], 'a provider\'s own setting wins')
  t.same(dpops({ OIDC_A_DPOP: 'true' }), [true, false])
  const notBoolean = 'yes' as unknown as boolean
  for (const [env, dpop] of [
    [{ ...base, OIDC_DPOP: 'maybe' }], [{ ...several, OIDC_DPOP: 'maybe' }], [{ ...several, OIDC_B_DPOP: 'sometimes' }], [base, notBoolean], [several, notBoolean]
  ] as Array<[Record<string, string>, boolean?]>) {
    const err = (() => {
      try {
        resolveConfig({ env, ...(dpop === undefined ? {} : { dpop }) })
        return undefined
      } catch (e) {
        return e as Error & { code?: string }
      }
    })()
    t.equal(err?.code, 'FST_OIDC_CONFIG_INVALID')
    t.match(err?.message, /OIDC_(B_)?DPOP: expected true or false/)
  }
})
