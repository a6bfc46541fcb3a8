import { LRUCache } from 'lru-cache'
import type { BearerVerifier, VerifiedBearer } from './verified-bearer.js'
import { deepFreeze, invalidToken, verifyAccessToken } from './access-token.js'
import { Introspector, type IntrospectionSettings } from './introspection.js'
import { remoteKeys } from './remote-keys.js'

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
  /** Seconds the last good JWKS is still used while refetches fail (stale-if-error). Default 86400. */
  jwksMaxStale?: number | undefined
  /** Milliseconds after which the JWKS is refetched (default 10 minutes; tests shorten it). */
  jwksCacheMaxAge?: number | undefined
  /** Milliseconds between two JWKS refetch attempts (default 30 s; tests shorten it). */
  jwksCooldown?: number | undefined
  /** Seconds a verified JWT is reused without verifying it again (never past its `exp`). 0: no cache. */
  verifiedTokenCacheTtl: number
  /** Without it, opaque tokens are refused. */
  introspection?: Pick<IntrospectionSettings, 'endpoint' | 'clientId' | 'method' | 'clientSecret' | 'clientKey' | 'cacheTtl'> | undefined
}

/** A JWS in compact form: three base64url parts (everything else is opaque). */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/
/** Most verified JWTs kept, whatever the number of distinct tokens seen. */
const CACHE_MAX = 10_000

/**
 * Verified JWTs, keyed by the whole token: looking a ~1 KB token up costs less
 * than hashing it first (SHA-256, then the lookup: what the introspection
 * cache does for opaque tokens), and a hit skips every other check. The price:
 * up to 10,000 unexpired tokens (~10 MB) stay in memory, where a heap dump
 * would show them. An entry lives `ttl` milliseconds at most and never past
 * the token's `exp`, which is also checked at every hit: the LRU's clock is
 * monotonic, `exp` is wall-clock time.
 */
class VerifiedTokens {
  readonly #cache = new LRUCache<string, VerifiedBearer>({ max: CACHE_MAX })
  readonly #ttl: number

  constructor (ttl: number) {
    this.#ttl = ttl
  }

  get (token: string): VerifiedBearer | undefined {
    const hit = this.#cache.get(token)
    if (hit === undefined || hit.expiresAt! * 1000 > Date.now()) return hit
    this.#cache.delete(token)
    return undefined
  }

  /** Keeps a verified JWT (whose `exp` is always set); not one accepted past its `exp` within the clock tolerance. */
  set (token: string, verified: VerifiedBearer): void {
    const ttl = Math.min(this.#ttl, verified.expiresAt! * 1000 - Date.now())
    if (ttl >= 1) this.#cache.set(token, verified, { ttl })
  }
}

/**
 * The verifier of bearer access tokens, shared by `requireBearer` and any other
 * guard: JWTs (RFC 9068) against the issuer's JWKS — fetched once, cached 10
 * minutes, refetched for an unknown `kid` at most every 30 s — and opaque
 * tokens by RFC 7662 introspection when configured (else refused). While
 * refetches fail, the last good JWKS stays in use for `jwksMaxStale` seconds
 * (stale-if-error, see `remoteKeys`).
 *
 * A verified JWT is kept (10,000 at most, least recently used out first) for
 * `verifiedTokenCacheTtl` seconds, never past its `exp`: the same token again
 * is not verified again. Refusals are not kept. Results are deep-frozen and
 * shared between requests: `request.oidc` gives each request its own copy.
 *
 * @example
 * const verifier = createBearerVerifier({ issuer, audiences: ['https://api.example.com'], jwksUri, ... })
 * const { claims, scopes } = await verifier.verify(token)
 */
export function createBearerVerifier (settings: BearerVerifierSettings): BearerVerifier {
  const keys = remoteKeys(new URL(settings.jwksUri), {
    httpTimeout: settings.httpTimeout,
    cacheMaxAge: settings.jwksCacheMaxAge ?? 10 * 60_000,
    cooldown: settings.jwksCooldown ?? 30_000,
    maxStale: (settings.jwksMaxStale ?? 86_400) * 1000
  })
  const checks = { ...settings, keys }
  const introspector = settings.introspection === undefined ? undefined : new Introspector({ ...settings, ...settings.introspection })
  const cache = settings.verifiedTokenCacheTtl > 0 ? new VerifiedTokens(settings.verifiedTokenCacheTtl * 1000) : undefined
  return {
    async verify (token) {
      const hit = cache?.get(token)
      if (hit !== undefined) return hit
      if (COMPACT_JWS.test(token)) {
        const verified = deepFreeze(await verifyAccessToken(token, checks))
        cache?.set(token, verified)
        return verified
      }
      if (introspector === undefined) throw invalidToken('not a signed JWT, and introspection is not configured')
      return await introspector.introspect(token)
    }
  }
}
