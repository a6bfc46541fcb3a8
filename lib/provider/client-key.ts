import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { JWK } from 'jose'

/**
 * The client's own signing key (`private_key_jwt`): read and checked once,
 * when the configuration is resolved. Only its public half ever leaves the
 * process (`GET /auth/jwks`); no message names anything of the key itself.
 */
export interface ClientKey {
  /** The `kid` of the assertions and of the public JWK: `OIDC_CLIENT_KEY_ID`, else the RFC 7638 thumbprint. */
  kid: string
  /** The JWS algorithms this key can sign, in the plugin's order of preference. */
  algorithms: readonly string[]
  /** The private key as a JWK (imported with `jose` for the algorithm picked from the IdP's metadata); not enumerable. */
  privateJwk: Readonly<JWK>
  /** The public key as a JWK with `kid` and `use: 'sig'`. */
  publicJwk: Readonly<JWK>
}

/** The settings a key is read from, each with the name it is reported under. */
export interface ClientKeySource {
  /** A PEM (PKCS#8, PKCS#1 or SEC1) or a JWK, as text or as an object. */
  key: { value: string | Record<string, unknown> | undefined, name: string }
  /** A file holding the same. */
  file: { value: string | undefined, name: string }
  kid: { value: string | undefined, name: string }
}

/** Node's names of the curves JWS uses, and the algorithm of each. */
const EC_ALGS: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }

/** The JWS algorithms a private key can sign with (an RSA key: `RS*` and `PS*`), or why it cannot sign at all. */
function algorithmsOf (key: KeyObject): string[] | string {
  switch (key.asymmetricKeyType) {
    case 'rsa': return ['RS256', 'PS256', 'RS384', 'PS384', 'RS512', 'PS512']
    // Node exports no JWK of a key restricted to RSA-PSS (id-RSASSA-PSS), and WebCrypto imports none.
    case 'rsa-pss': return 'an RSA-PSS-restricted key (id-RSASSA-PSS), which cannot be used: use a plain RSA key (BEGIN PRIVATE KEY with rsaEncryption, e.g. openssl genpkey -algorithm RSA), which signs PS256 as well'
    case 'ec': {
      const alg = EC_ALGS[String(key.asymmetricKeyDetails?.namedCurve)]
      return alg === undefined ? 'an EC key on a curve JWS does not use (expected P-256, P-384 or P-521)' : [alg]
    }
    case 'ed25519': return ['EdDSA', 'Ed25519']
    default: return `a ${String(key.asymmetricKeyType)} key, which cannot sign JWS assertions (expected RSA, EC or Ed25519)`
  }
}

/** Why the text is not a usable private key (never quoting it), or the key. */
function parsePrivateKey (raw: string | Record<string, unknown>): KeyObject | string {
  let jwk: Record<string, unknown> | undefined
  if (typeof raw === 'object') {
    jwk = raw
  } else if (raw.trimStart().startsWith('{')) {
    try {
      jwk = JSON.parse(raw) as Record<string, unknown>
    } catch {
      return 'not valid JSON (expected a PEM private key or a private JWK)'
    }
  }
  if (jwk !== undefined) {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return 'expected a PEM private key or a private JWK object'
    if (jwk['kty'] === 'oct') return 'a symmetric (oct) JWK: private_key_jwt needs an asymmetric private key (RSA, EC or Ed25519)'
    if (jwk['d'] === undefined) return 'a public JWK (no "d"): the private key is needed'
    try {
      return createPrivateKey({ key: jwk as never, format: 'jwk' })
    } catch {
      return 'a JWK that is not a usable private key'
    }
  }
  const text = raw as string
  if (/-----BEGIN (?:RSA )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(text)) return 'a public key or a certificate: the private key is needed'
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return 'not a PEM private key (expected -----BEGIN PRIVATE KEY-----) nor a JWK'
  try {
    return createPrivateKey(text)
  } catch {
    return 'a PEM that cannot be read as a private key (encrypted keys are not supported)'
  }
}

/**
 * Reads the client's private key from its setting or its file, pushing one
 * problem naming the setting when it is missing, unreadable, symmetric,
 * public only, or of a kind that cannot sign. Undefined when neither is set
 * or when there was a problem.
 */
export function readClientKey (source: ClientKeySource, problems: string[]): ClientKey | undefined {
  const { key, file, kid } = source
  if (key.value !== undefined && file.value !== undefined) {
    problems.push(`${key.name} and ${file.name}: set one of them, not both`)
    return undefined
  }
  let raw = key.value
  let name = key.name
  if (file.value !== undefined) {
    name = file.name
    try {
      raw = readFileSync(file.value, 'utf8')
    } catch (err) {
      problems.push(`${file.name}: cannot read the file ${JSON.stringify(file.value.slice(0, 200))} (${String((err as NodeJS.ErrnoException).code)})`)
      return undefined
    }
  }
  if (raw === undefined) return undefined
  const parsed = parsePrivateKey(raw)
  const algorithms = typeof parsed === 'string' ? parsed : algorithmsOf(parsed)
  if (typeof parsed === 'string' || typeof algorithms === 'string') {
    problems.push(`${name}: ${String(typeof parsed === 'string' ? parsed : algorithms)}`)
    return undefined
  }
  const { kty, crv, n, e, x, y } = createPublicKey(parsed).export({ format: 'jwk' })
  const pub = Object.fromEntries(Object.entries({ kty, crv, n, e, x, y }).filter(([, v]) => v !== undefined)) as JWK
  const keyId = kid.value ?? thumbprint(pub)
  const clientKey = {
    kid: keyId,
    algorithms: Object.freeze(algorithms),
    publicJwk: Object.freeze({ ...pub, kid: keyId, use: 'sig' })
  }
  // Not enumerable: a configuration that is logged or serialized never shows the private key.
  Object.defineProperty(clientKey, 'privateJwk', { value: Object.freeze(parsed.export({ format: 'jwk' }) as JWK), enumerable: false })
  return Object.freeze(clientKey as ClientKey)
}

/** RFC 7638 JWK thumbprint (SHA-256) of a public JWK. */
function thumbprint (jwk: JWK): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

/**
 * The algorithm to sign assertions with: the first of the IdP's
 * `token_endpoint_auth_signing_alg_values_supported` this key can sign, else
 * the key's preferred one when the IdP says nothing. Undefined when the IdP
 * lists algorithms and none fits the key.
 */
export function pickAssertionAlg (key: Pick<ClientKey, 'algorithms'>, supported: unknown): string | undefined {
  if (!Array.isArray(supported) || supported.length === 0) return key.algorithms[0]
  return (supported as unknown[]).find((alg): alg is string => typeof alg === 'string' && key.algorithms.includes(alg))
}
