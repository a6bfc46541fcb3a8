import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { OidcVerifierUnavailableError } from '../errors.js'
import type { VerifiedBearer } from '../resource-server/types.js'
import type { OidcClaims } from '../types.js'
import { invalidToken, scopesOf } from './access-token.js'

export interface IntrospectionSettings {
  endpoint: string
  clientId: string
  clientSecret: string
  /** Seconds an active answer is reused; never beyond the token's `exp`. 0: no cache. */
  cacheTtl: number
  /** `iss` of the answer, when present, must equal it. */
  issuer: string
  /** `aud` of the answer, when present, must contain one of these. */
  audiences: string[]
  clockTolerance: number
  /** Milliseconds. */
  httpTimeout: number
}

/** Most answers kept: a bounded cache, whatever the number of distinct tokens seen. */
const CACHE_MAX = 10_000

/** RFC 6749 2.3.1: client id and secret are form-url-encoded before the Basic encoding. */
const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+')

/**
 * RFC 7662 token introspection for opaque access tokens: POST `token` with
 * `token_type_hint=access_token`, authenticated with `client_secret_basic`.
 * The token is active only when `active` is the boolean `true`; `aud` must
 * contain an accepted audience (required: an answer without one may be about
 * any token of the IdP, a refresh token included); `iss`, `exp` and
 * `token_type` are checked when present, and a subject (`sub`, else
 * `client_id`) is required. Active answers are cached under a hash of the
 * token (the token itself is never a key nor logged) for `cacheTtl` seconds,
 * never past `exp`. Inactive answers are not cached.
 */
export class Introspector {
  readonly #settings: IntrospectionSettings
  readonly #authorization: string
  readonly #cache = new LRUCache<string, VerifiedBearer>({ max: CACHE_MAX })

  constructor (settings: IntrospectionSettings) {
    this.#settings = settings
    this.#authorization = `Basic ${Buffer.from(`${formEncode(settings.clientId)}:${formEncode(settings.clientSecret)}`).toString('base64')}`
  }

  async introspect (token: string): Promise<VerifiedBearer> {
    const key = createHash('sha256').update(token).digest('base64url')
    const cached = this.#cache.get(key)
    if (cached !== undefined) return cached
    const verified = this.#check(await this.#call(token))
    const ttl = Math.min(this.#settings.cacheTtl * 1000, (verified.expiresAt ?? Infinity) * 1000 - Date.now())
    if (ttl >= 1) this.#cache.set(key, verified, { ttl })
    return verified
  }

  async #call (token: string): Promise<unknown> {
    const { endpoint, httpTimeout } = this.#settings
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: this.#authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(httpTimeout),
        redirect: 'error'
      })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      return await response.json()
    } catch (err) {
      throw new OidcVerifierUnavailableError('the introspection endpoint is unavailable', { cause: err })
    }
  }

  #check (answer: unknown): VerifiedBearer {
    const { issuer, audiences, clockTolerance } = this.#settings
    const body = answer as Record<string, unknown> | null
    if (body?.['active'] !== true) throw invalidToken('the token is not active')
    const { active: _active, ...claims } = body
    if (claims['iss'] !== undefined && claims['iss'] !== issuer) throw invalidToken('the iss claim is not acceptable')
    // Required, unlike RFC 7662 says: an answer without aud may be any token of the IdP (oidc-provider
    // answers active:true without aud nor token_type for a refresh token), not one issued for this API.
    if (![claims['aud']].flat().some((aud) => audiences.includes(aud as string))) throw invalidToken('the aud claim is not acceptable')
    const exp = claims['exp']
    if (exp !== undefined && !(typeof exp === 'number' && exp > Date.now() / 1000 - clockTolerance)) throw invalidToken('the token has expired')
    if (claims['token_type'] !== undefined && String(claims['token_type']).toLowerCase() !== 'bearer') {
      throw invalidToken('the token is not a bearer access token')
    }
    const sub = typeof claims['sub'] === 'string' && claims['sub'] !== '' ? claims['sub'] : claims['client_id']
    if (typeof sub !== 'string' || sub === '') throw invalidToken('the token has no subject')
    return { claims: { ...claims, sub } as OidcClaims, scopes: scopesOf(claims), expiresAt: (exp as number | undefined) ?? null, method: 'introspection' }
  }
}
