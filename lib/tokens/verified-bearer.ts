import type { OidcClaims } from '../contract.js'

/** A verified access token (frozen: it may be shared by every request with the same token). */
export interface VerifiedBearer {
  /** The token's claims (JWT payload, or the introspection answer). */
  claims: OidcClaims
  /** Granted scopes, from `scope` (space-separated) or `scp` (array or string). */
  scopes: string[]
  /** `exp` in Unix seconds, or `null` when the introspection answer had none. */
  expiresAt: number | null
  /**
   * The RFC 9449 thumbprint (`cnf.jkt`) of the key the token is bound to (DPoP), or `null`
   * for a plain bearer token.
   */
  jkt: string | null
  /** How it was verified. */
  method: 'jwt' | 'introspection'
}

/** Verifies a bearer access token; knows nothing about requests or routes. */
export interface BearerVerifier {
  /**
   * Resolves to the verified token, or rejects with `FST_OIDC_TOKEN_INVALID` (401)
   * or `FST_OIDC_VERIFIER_UNAVAILABLE` (503: keys or introspection unreachable).
   */
  verify (token: string): Promise<VerifiedBearer>
}
