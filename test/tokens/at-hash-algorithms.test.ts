// at_hash is checked with the hash of the ID token's own algorithm (OIDC Core
// 3.1.3.6): SHA-384 for *384, SHA-512 for *512 and EdDSA / Ed25519. A value computed with
// SHA-256 for such a token is refused (id_token_at_hash).
import t from 'tap'
import type { Test } from 'tap'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { CryptoKey, JWK } from 'jose'
import { expectLoggedIn, expectRejected, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'

interface Signer {
  alg: string
  key: CryptoKey | Uint8Array
  kid?: string
}

/** A login whose ID token is signed by `signer`, with at_hash computed as for `hashAlg`. */
async function loginWith (t: Test, idTokenSigningAlgs: string[], signer: (attack: Attack) => Promise<Signer>, hashAlg: (alg: string) => string): Promise<{ attack: Attack, res: CallbackAnswer }> {
  const attack = await startAttack(t, { app: { idTokenSigningAlgs } })
  const { alg, key, kid } = await signer(attack)
  scriptToken(attack, async (ctx) => {
    const claims = { ...ctx.defaultClaims(), at_hash: attack.op.atHash(ctx.accessToken, hashAlg(alg)) }
    const idToken = await new SignJWT(claims).setProtectedHeader(kid === undefined ? { alg } : { alg, kid }).sign(key)
    return { body: { ...await ctx.defaultBody(), id_token: idToken } }
  })
  const res = await hitCallback(attack, await reachCallback(attack))
  return { attack, res }
}

const clientSecret = (alg: string) => async (): Promise<Signer> => ({ alg, key: new TextEncoder().encode('test-secret') })

/** An Ed25519 key the OP publishes in its JWKS, used with the JWS name `alg` (EdDSA, or the fully specified Ed25519). */
const edKey = (alg: 'EdDSA' | 'Ed25519') => async (attack: Attack): Promise<Signer> => {
  const { publicKey, privateKey } = await generateKeyPair('Ed25519', { extractable: true })
  const jwk: JWK = { ...await exportJWK(publicKey), kid: 'ed-1', alg, use: 'sig' }
  attack.op.onJwks = (defaults) => ({ body: { keys: [...defaults.keys, jwk] } })
  return { alg, key: privateKey, kid: 'ed-1' }
}

const cases = [
  { name: 'HS384', algs: ['HS384'], signer: clientSecret('HS384') },
  { name: 'HS512', algs: ['HS512'], signer: clientSecret('HS512') },
  { name: 'EdDSA', algs: ['EdDSA'], signer: edKey('EdDSA') },
  { name: 'Ed25519', algs: ['Ed25519'], signer: edKey('Ed25519') }
]

for (const { name, algs, signer } of cases) {
  t.test(`${name}: at_hash with the algorithm's own hash logs in`, async (t) => {
    const { attack, res } = await loginWith(t, algs, signer, (alg) => alg)
    await expectLoggedIn(t, attack, res)
  })

  t.test(`${name}: at_hash computed with SHA-256 -> 401 id_token_at_hash`, async (t) => {
    const { attack, res } = await loginWith(t, algs, signer, () => 'RS256')
    await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_at_hash' })
  })
}
