import { createRemoteJWKSet } from 'jose'
import type { BearerVerifier } from '../resource-server/types.js'
import { invalidToken, verifyAccessToken } from './access-token.js'
import { Introspector, type IntrospectionSettings } from './introspection.js'

export interface BearerVerifierSettings {
  issuer: string
  audiences: string[]
  algorithms: string[]
  /** Normalized `typ` values, or `'any'`. */
  accessTokenTypes: string[] | 'any'
  clockTolerance: number
  /** Milliseconds for each JWKS or introspection call. */
  httpTimeout: number
  jwksUri: string
  /** Without it, opaque tokens are refused. */
  introspection?: Pick<IntrospectionSettings, 'endpoint' | 'clientId' | 'clientSecret' | 'cacheTtl'>
}

/** A JWS in compact form: three base64url parts (everything else is opaque). */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/

/**
 * The verifier of bearer access tokens, shared by `requireBearer` and any other
 * guard: JWTs (RFC 9068) against the issuer's JWKS — fetched once, cached 10
 * minutes, refetched for an unknown `kid` at most every 30 s — and opaque
 * tokens by RFC 7662 introspection when configured (else refused).
 *
 * @example
 * const verifier = createBearerVerifier({ issuer, audiences: ['https://api.example.com'], jwksUri, ... })
 * const { claims, scopes } = await verifier.verify(token)
 */
export function createBearerVerifier (settings: BearerVerifierSettings): BearerVerifier {
  const keys = createRemoteJWKSet(new URL(settings.jwksUri), {
    timeoutDuration: settings.httpTimeout,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000
  })
  const checks = { ...settings, keys }
  const introspector = settings.introspection === undefined ? undefined : new Introspector({ ...settings, ...settings.introspection })
  return {
    async verify (token) {
      if (COMPACT_JWS.test(token)) return await verifyAccessToken(token, checks)
      if (introspector === undefined) throw invalidToken('not a signed JWT, and introspection is not configured')
      return await introspector.introspect(token)
    }
  }
}
