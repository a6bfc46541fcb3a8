import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey } from 'jose'
import { LRUCache } from 'lru-cache'
import * as oauth from 'oauth4webapi'
import type { OidcDpopKey } from '../contract.js'
import { publicJwk } from './public-jwk.js'

/** The DPoP proof algorithms a session key can be made for, the preferred first (RFC 9449: asymmetric only). */
export const DPOP_KEY_ALGS = ['ES256', 'ES384', 'PS256', 'RS256'] as const

/** Handles (keys imported, the IdP's and downstreams' nonces) of the sessions used lately in this process. */
const handles = new LRUCache<string, Promise<oauth.DPoPHandle>>({ max: 10_000 })

/**
 * A new key pair for one session's DPoP proofs (RFC 9449), in `alg`: the private
 * JWK is sealed with the session's token set — never in a cookie, never logged —
 * and `jkt` (its RFC 7638 thumbprint) is what the IdP binds the tokens to (`cnf.jkt`).
 */
export async function generateDpopKey (alg: string): Promise<OidcDpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(privateKey)
  return { alg, jwk, jkt: await calculateJwkThumbprint(await exportJWK(publicKey)) }
}

/**
 * The oauth4webapi DPoP handle of a session key: it signs each proof (`htm`,
 * `htu`, `iat`, `jti`, `ath`) and remembers the nonces the IdP and downstreams
 * asked for, per origin. One handle per key in this process (kept for the 10,000
 * keys used last), so a nonce learnt by one request serves the next.
 */
export async function dpopHandle (key: OidcDpopKey): Promise<oauth.DPoPHandle> {
  let handle = handles.get(key.jkt)
  if (handle === undefined) {
    handle = (async () => {
      const privateKey = await importJWK(key.jwk, key.alg) as CryptoKey
      const publicKey = await importJWK({ ...publicJwk(key.jwk), ext: true }, key.alg, { extractable: true }) as CryptoKey
      return oauth.DPoP({}, { privateKey, publicKey })
    })()
    handles.set(key.jkt, handle)
    handle.catch(() => handles.delete(key.jkt))
  }
  return await handle
}

/** What oauth4webapi's handle does at run time (typed by it only as `DPoPHandle`): adds one proof to `headers`. */
interface ProofSigner {
  addProof (url: URL, headers: Headers, htm: string, accessToken?: string): Promise<void>
}

/**
 * One DPoP proof, for headers the application sends itself: `htm` `method`,
 * `htu` `url` without query and fragment, `ath` of `accessToken`, and the nonce
 * last asked for by that origin. A proof is good for one request.
 */
export async function dpopProof (handle: oauth.DPoPHandle, method: string, url: URL, accessToken: string): Promise<string> {
  const headers = new Headers()
  await (handle as unknown as ProofSigner).addProof(url, headers, method.toUpperCase(), accessToken)
  return headers.get('dpop')!
}
