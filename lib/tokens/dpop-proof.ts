import { createHash } from 'node:crypto'
import { EmbeddedJWK, calculateJwkThumbprint, errors, jwtVerify, type JWK, type JWTPayload } from 'jose'
import { OidcDpopProofInvalidError, OidcVerifierUnavailableError, type OidcError } from '../errors.js'
import type { ReplayStore } from './dpop-replay.js'

/** RFC 9449 4.3: asymmetric algorithms only (never `none` nor HMAC); listed in the `algs` of challenges. */
export const DPOP_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519']
/** Seconds a proof is accepted after its `iat` (plus the clock tolerance either side). */
export const DPOP_PROOF_MAX_AGE = 60
/** Longest `jti` accepted (RFC 9449 suggests 96 random bits; oidc-provider and browsers send UUIDs). */
const MAX_JTI_LENGTH = 256

export interface DpopProofSettings {
  /** Seconds of clock skew accepted on the proof's `iat`. */
  clockTolerance: number
  /** Where proof ids are claimed once (a bounded in-memory LRU, or a store shared by instances). */
  replay: ReplayStore
}

/** The request a proof must be about, and the token it must come with. */
export interface DpopRequest {
  /** The request method (`htm`). */
  method: string
  /** The request URL as the service sees it (`htu`: compared without query and fragment). */
  url: string
  /** The access token sent with the proof (`ath`). */
  accessToken: string
  /** The `cnf.jkt` the token is bound to: the proof key's RFC 7638 thumbprint must equal it. */
  jkt: string
}

/** Verifies the DPoP proof of one request; throws a coded 401 or 503 error. */
export type DpopProofVerifier = (proof: string, request: DpopRequest) => Promise<void>

/** What the bearer guard does about DPoP. */
export interface DpopGuardSettings {
  /** `allowed`: DPoP-bound tokens (with a valid proof) and plain bearer tokens; `required`: DPoP-bound tokens only. */
  mode: 'allowed' | 'required'
  verify: DpopProofVerifier
}

const refuse = (description: string): OidcError => new OidcDpopProofInvalidError(description)

/** The URL without query and fragment, in the WHATWG URL's normal form; `undefined` when it is none. */
function normalUrl (url: string): string | undefined {
  if (!URL.canParse(url)) return undefined
  const { protocol, host, pathname } = new URL(url)
  return protocol === 'https:' || protocol === 'http:' ? `${protocol}//${host}${pathname}` : undefined
}

async function verifiedProof (proof: string, clockTolerance: number): Promise<{ payload: JWTPayload, jwk: JWK }> {
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: DPOP_ALGS,
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      maxTokenAge: DPOP_PROOF_MAX_AGE,
      clockTolerance
    })
    return { payload, jwk: protectedHeader.jwk! }
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw refuse(`the ${err.claim === 'iat' ? `iat claim is not within ${DPOP_PROOF_MAX_AGE} s of now` : 'proof has expired'}`)
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === 'typ') throw refuse('the typ header is not dpop+jwt')
      throw refuse(err.claim === 'iat' ? `the iat claim is not within ${DPOP_PROOF_MAX_AGE} s of now` : `the ${err.claim} claim is missing`)
    }
    if (err instanceof errors.JOSEAlgNotAllowed) throw refuse(`the algorithm is not one of ${DPOP_ALGS.join(' ')}`)
    if (err instanceof errors.JWSSignatureVerificationFailed) throw refuse('the signature does not verify with the embedded key')
    throw refuse('not a valid signed DPoP proof with an embedded public key')
  }
}

/**
 * The DPoP proof verifier of a resource server (RFC 9449 4.3), checking in this
 * order: a compact JWS with `typ` `dpop+jwt`, an accepted asymmetric `alg`, a
 * public `jwk` header (no private key, no HMAC) whose signature verifies;
 * `jti`, `htm`, `htu` and `iat` present; `htm` equal to the request method;
 * `htu` equal to the request URL without query and fragment (scheme, host and
 * port as the service sees them: behind a proxy, Fastify's `trustProxy`);
 * `iat` no more than 60 s old nor in the future (plus the clock tolerance);
 * `ath` the base64url SHA-256 of the access token; the proof key's RFC 7638
 * thumbprint equal to the token's `cnf.jkt`; and last the `jti`, claimed once
 * per key for the acceptance window (a replayed proof is refused).
 *
 * It does NOT issue or check server nonces (`DPoP-Nonce`).
 *
 * @example
 * const verify = createDpopProofVerifier({ clockTolerance: 60, replay: memoryReplayStore() })
 * await verify(request.headers.dpop, { method: 'GET', url: 'https://api.example.com/reviews', accessToken, jkt })
 */
export function createDpopProofVerifier (settings: DpopProofSettings): DpopProofVerifier {
  const window = (DPOP_PROOF_MAX_AGE + 2 * settings.clockTolerance) * 1000
  return async function verifyDpopProof (proof, request) {
    const { payload, jwk } = await verifiedProof(proof, settings.clockTolerance)
    const { jti, htm, htu, ath } = payload as { jti: unknown, htm: unknown, htu: unknown, ath: unknown }
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw refuse('the jti claim is not acceptable')
    if (htm !== request.method) throw refuse('the htm claim is not the request method')
    if (typeof htu !== 'string' || normalUrl(htu) === undefined || normalUrl(htu) !== normalUrl(request.url)) {
      throw refuse('the htu claim is not the request URL')
    }
    if (ath !== createHash('sha256').update(request.accessToken).digest('base64url')) throw refuse('the ath claim is not the access token\'s hash')
    const thumbprint = await calculateJwkThumbprint(jwk, 'sha256')
    if (thumbprint !== request.jkt) throw refuse('the proof key is not the key the access token is bound to')
    let first: boolean
    try {
      first = await settings.replay.claimOnce(`dpop:${createHash('sha256').update(`${thumbprint}:${jti}`).digest('base64url')}`, window)
    } catch (err) {
      throw new OidcVerifierUnavailableError('the DPoP replay cache is unavailable', { cause: err })
    }
    if (!first) throw refuse('the proof was already used')
  }
}
