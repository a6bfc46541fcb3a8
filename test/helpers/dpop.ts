// DPoP (RFC 9449) for the resource-server tests: a client's key pair, proofs
// built and signed with jose exactly as a client would, and their tamperings.
import { createHash, randomUUID } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export interface DpopKey {
  privateKey: CryptoKey
  publicJwk: JWK
  privateJwk: JWK
  /** RFC 7638 thumbprint: the `cnf.jkt` of tokens bound to this key. */
  jkt: string
}

/** A client's DPoP key pair (ES256 unless told otherwise). */
export async function dpopKey (alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { privateKey, publicJwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(publicJwk, 'sha256') }
}

/** base64url SHA-256 of the access token: a proof's `ath`. */
export function ath (accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url')
}

export interface ProofOptions {
  /** Claims replacing (or, `undefined`, removing) the defaults. */
  claims?: JWTPayload
  /** Header members replacing the defaults (`typ`, `alg`, `jwk`). */
  header?: Record<string, unknown>
  /** Seconds added to now for `iat`. */
  iatOffset?: number
  /** Signs with this key instead of the DPoP key's (another key than the embedded one). */
  signingKey?: CryptoKey | Uint8Array
}

/** A DPoP proof for `method url` carrying `accessToken`'s `ath`, signed by `key`. */
export async function proof (key: DpopKey, method: string, url: string, accessToken: string, options: ProofOptions = {}): Promise<string> {
  const claims: JWTPayload = {
    jti: randomUUID(),
    htm: method,
    htu: url,
    iat: Math.floor(Date.now() / 1000) + (options.iatOffset ?? 0),
    ath: ath(accessToken),
    ...options.claims
  }
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk, ...options.header }
  return await new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(options.signingKey ?? key.privateKey)
}

/** An unsigned proof (`alg: none`), as an attacker would send it. */
export function unsignedProof (key: DpopKey, method: string, url: string, accessToken: string, signature = ''): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const claims = { jti: randomUUID(), htm: method, htu: url, iat: Math.floor(Date.now() / 1000), ath: ath(accessToken) }
  return `${part({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk })}.${part(claims)}.${signature}`
}
