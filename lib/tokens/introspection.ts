import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { OidcVerifierUnavailableError } from '../errors.js'
import type { VerifiedBearer } from './verified-bearer.js'
import type { OidcClaims } from '../contract.js'
import { deepFreeze, invalidToken, scopesOf } from './access-token.js'

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

/** Most answers kept: bounded caches, whatever the number of distinct tokens seen. */
const CACHE_MAX = 10_000
/** Milliseconds a refusal is remembered (never beyond `cacheTtl`): a flood of the same junk costs one call. */
const REFUSAL_TTL = 5_000

/** RFC 6749 2.3.1: client id and secret are form-url-encoded before the Basic encoding. */
const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+')

/** A verified token, or why the answer refuses it. */
type Outcome = VerifiedBearer | string

/**
 * RFC 7662 token introspection for opaque access tokens: POST `token` with
 * `token_type_hint=access_token`, authenticated with `client_secret_basic`.
 * The token is active only when `active` is the boolean `true`; `aud` must
 * contain an accepted audience (required: an answer without one may be about
 * any token of the IdP, a refresh token included); `iss`, `exp` and
 * `token_type` are checked when present; `sub`, when present, must be a
 * non-empty string, and without it `client_id` is the subject (one of them is
 * required).
 *
 * Answers are kept under a hash of the token (the token itself is never a key
 * nor logged): active ones for `cacheTtl` seconds, never past `exp`; refusals
 * for 5 s (at most `cacheTtl`), so a flood of the same junk costs one call.
 * Concurrent requests with the same token share one call. Verified answers
 * are deep-frozen and shared (as the bearer verifier's JWTs): `request.oidc`
 * gives each request its own copy, so what a handler does to it stays in its
 * request. An unreachable or failing endpoint is never remembered.
 */
export class Introspector {
  readonly #settings: IntrospectionSettings
  readonly #authorization: string
  readonly #active = new LRUCache<string, VerifiedBearer>({ max: CACHE_MAX })
  readonly #refused = new LRUCache<string, string>({ max: CACHE_MAX })
  readonly #flights = new Map<string, Promise<Outcome>>()

  constructor (settings: IntrospectionSettings) {
    this.#settings = settings
    this.#authorization = `Basic ${Buffer.from(`${formEncode(settings.clientId)}:${formEncode(settings.clientSecret)}`).toString('base64')}`
  }

  async introspect (token: string): Promise<VerifiedBearer> {
    const key = createHash('sha256').update(token).digest('base64url')
    const outcome = this.#active.get(key) ?? this.#refused.get(key) ?? await this.#join(key, token)
    if (typeof outcome === 'string') throw invalidToken(outcome)
    return outcome
  }

  /** The running call for this token, or a new one. */
  async #join (key: string, token: string): Promise<Outcome> {
    let flight = this.#flights.get(key)
    if (flight === undefined) {
      flight = this.#introspect(key, token).finally(() => this.#flights.delete(key))
      this.#flights.set(key, flight)
    }
    return await flight
  }

  async #introspect (key: string, token: string): Promise<Outcome> {
    const outcome = this.#judge(await this.#call(token))
    const cacheTtl = this.#settings.cacheTtl * 1000
    if (typeof outcome === 'string') {
      const ttl = Math.min(REFUSAL_TTL, cacheTtl)
      if (ttl >= 1) this.#refused.set(key, outcome, { ttl })
    } else {
      const ttl = Math.min(cacheTtl, (outcome.expiresAt ?? Infinity) * 1000 - Date.now())
      if (ttl >= 1) this.#active.set(key, outcome, { ttl })
    }
    return outcome
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
      if (!response.ok) {
        // Not read: free the connection now rather than when the time-out fires.
        await response.body?.cancel()
        throw new Error(`HTTP ${response.status}`)
      }
      return await response.json()
    } catch (err) {
      throw new OidcVerifierUnavailableError('the introspection endpoint is unavailable', { cause: err })
    }
  }

  /** The verified token, or why the answer refuses it. */
  #judge (answer: unknown): Outcome {
    const { issuer, audiences, clockTolerance } = this.#settings
    const body = answer as Record<string, unknown> | null
    if (body?.['active'] !== true) return 'the token is not active'
    const { active: _active, ...claims } = body
    if (claims['iss'] !== undefined && claims['iss'] !== issuer) return 'the iss claim is not acceptable'
    // Required, unlike RFC 7662 says: an answer without aud may be any token of the IdP (oidc-provider
    // answers active:true without aud nor token_type for a refresh token), not one issued for this API.
    if (![claims['aud']].flat().some((aud) => audiences.includes(aud as string))) return 'the aud claim is not acceptable'
    const exp = claims['exp']
    if (exp !== undefined && !(typeof exp === 'number' && exp > Date.now() / 1000 - clockTolerance)) return 'the token has expired'
    if (claims['token_type'] !== undefined && String(claims['token_type']).toLowerCase() !== 'bearer') {
      return 'the token is not a bearer access token'
    }
    if (claims['sub'] !== undefined && !isNonEmptyString(claims['sub'])) return 'the sub claim is not a non-empty string'
    const sub = claims['sub'] ?? claims['client_id']
    if (!isNonEmptyString(sub)) return 'the token has no subject'
    return deepFreeze({ claims: { ...claims, sub } as OidcClaims, scopes: scopesOf(claims), expiresAt: (exp as number | undefined) ?? null, method: 'introspection' })
  }
}

function isNonEmptyString (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}
