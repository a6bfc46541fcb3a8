import { errors } from 'jose'

/** What a failed `jwtVerify` says about the token itself. */
export type TokenFault = 'exp' | 'claim' | 'signature' | 'malformed'

/**
 * Sorts a `jose` verification failure: the token expired, a claim is not
 * acceptable, the signature does not verify with the keys, or it is no valid
 * signed JWT. `undefined` when the fault is not the token's: the keys could not
 * be fetched or used (the IdP is unusable).
 */
export function tokenFault (err: unknown): TokenFault | undefined {
  if (err instanceof errors.JWTExpired) return 'exp'
  if (err instanceof errors.JWTClaimValidationFailed) return 'claim'
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return 'signature'
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return 'malformed'
  }
  return undefined
}
