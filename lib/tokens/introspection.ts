import { createHash } from 'node:crypto'
import { importJWK, type CryptoKey } from 'jose'
import { LRUCache } from 'lru-cache'
import * as oauth from 'oauth4webapi'
import type { ClientKey } from '../provider/client-key.js'
import { OidcVerifierUnavailableError } from '../errors.js'
import type { VerifiedBearer } from './verified-bearer.js'
import type { OidcClaims } from '../contract.js'
import { boundKeyOf, deepFreeze, invalidToken, scopesOf } from './access-token.js'

export interface IntrospectionSettings {
  endpoint: string
  clientId: string
  /** How the client authenticates (default `client_secret_basic`). */
  method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | undefined
  clientSecret?: string | undefined
  /** The `private_key_jwt` key: assertions signed with its first algorithm (RS256, ES256… EdDSA), `aud` the issuer. */
  clientKey?: ClientKey | undefined
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

/** The client authentication of the introspection requests, in oauth4webapi's terms (RFC 6749 2.3.1 Basic, body, or an RFC 7523 assertion). */
async function clientAuthentication (settings: IntrospectionSettings): Promise<oauth.ClientAuth> {
  if (settings.method === 'private_key_jwt') {
    const key = settings.clientKey!
    const alg = key.algorithms[0]!
    const cryptoKey = await importJWK({ ...key.privateJwk }, alg) as CryptoKey
    return oauth.PrivateKeyJwt({ key: cryptoKey, kid: key.kid }, { [oauth.modifyAssertion]: (header) => { header.alg = alg } })
  }
  return settings.method === 'client_secret_post' ? oauth.ClientSecretPost(settings.clientSecret!) : oauth.ClientSecretBasic(settings.clientSecret!)
}

/** A verified token, or why the answer refuses it. */
type Outcome = VerifiedBearer | string

/**
 * RFC 7662 token introspection for opaque access tokens: POST `token` with
 * `token_type_hint=access_token`, authenticated with `client_secret_basic`,
 * `client_secret_post` or `private_key_jwt` (`method`).
 * The token is active only when `active` is the boolean `true`; `aud` must
 * contain an accepted audience (required: an answer without one may be about
 * any token of the IdP, a refresh token included); `iss`, `exp` and
 * `token_type` are checked when present (`Bearer`, or `DPoP` with a `cnf.jkt`);
 * a `cnf.jkt` (RFC 9449 6.2) is the key the token is bound to; `sub`, when present, must be a
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
  readonly #auth: Promise<oauth.ClientAuth>
  readonly #active = new LRUCache<string, VerifiedBearer>({ max: CACHE_MAX })
  readonly #refused = new LRUCache<string, string>({ max: CACHE_MAX })
  readonly #flights = new Map<string, Promise<Outcome>>()

  constructor (settings: IntrospectionSettings) {
    this.#settings = settings
    this.#auth = clientAuthentication(settings)
    // A key that cannot be imported fails each call (503), not the process.
    this.#auth.catch(() => {})
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
    const { endpoint, httpTimeout, issuer, clientId } = this.#settings
    try {
      const body = new URLSearchParams({ token, token_type_hint: 'access_token' })
      const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' })
      await (await this.#auth)({ issuer, introspection_endpoint: endpoint }, { client_id: clientId }, body, headers)
      const response = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: body.toString(),
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
    const bound = boundKeyOf(claims)
    if (typeof bound === 'string') return bound
    // RFC 9449 6.2: a DPoP-bound token's answer says token_type DPoP (and carries cnf.jkt).
    const tokenType = claims['token_type'] === undefined ? undefined : String(claims['token_type']).toLowerCase()
    if (tokenType !== undefined && tokenType !== 'bearer' && !(tokenType === 'dpop' && bound.jkt !== null)) {
      return 'the token is not a bearer access token'
    }
    if (claims['sub'] !== undefined && !isNonEmptyString(claims['sub'])) return 'the sub claim is not a non-empty string'
    const sub = claims['sub'] ?? claims['client_id']
    if (!isNonEmptyString(sub)) return 'the token has no subject'
    return deepFreeze({ claims: { ...claims, sub } as OidcClaims, scopes: scopesOf(claims), expiresAt: (exp as number | undefined) ?? null, jkt: bound.jkt, method: 'introspection' })
  }
}

function isNonEmptyString (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}
