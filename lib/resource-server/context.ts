import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { rolesFrom } from '../claims.js'
import { forwardFetch, forwardHeaders, type Forwarding } from '../downstream.js'
import { OidcDownstreamOriginDeniedError, OidcUnauthenticatedError } from '../errors.js'
import { copyJson } from '../tokens/access-token.js'
import type { OidcClaims, OidcRequestContext } from '../contract.js'
import type { StepUpRequirement } from '../tokens/step-up.js'
import type { VerifiedBearer } from '../tokens/verified-bearer.js'

/** Where a verified caller's own token may be relayed: the allow-list, and the request's headers (tracing). */
export interface BearerForwarding {
  downstreams: readonly string[]
  incoming: IncomingHttpHeaders
}

/**
 * `request.oidc` of an `oidcResourceServer` app: the caller of a bearer token
 * that `requireBearer` verified, or anonymous (before the guard ran, on
 * unguarded routes, after a refusal).
 */
export class BearerContext implements OidcRequestContext {
  readonly #bearer: VerifiedBearer | null
  readonly #token: string | undefined
  readonly #rolesClaim: string
  readonly #forwarding: Forwarding | undefined
  /** This request's own copy of the claims, made at the first read. */
  #user: OidcClaims | undefined

  constructor (bearer: VerifiedBearer | null, token: string | undefined, rolesClaim: string, forwarding?: BearerForwarding) {
    this.#bearer = bearer
    this.#token = token
    this.#rolesClaim = rolesClaim
    // A bearer caller's token cannot be refreshed here: a downstream's 401 is final.
    this.#forwarding = forwarding === undefined || token === undefined
      ? undefined
      : { ...forwarding, accessToken: async () => token, renew: async () => undefined }
  }

  /**
   * The token's claims: this request's own copy (the verified result is frozen
   * and shared by every request with the same token), so a handler may change
   * it without affecting any other request.
   */
  get user (): OidcClaims | null {
    if (this.#bearer === null) return null
    this.#user ??= copyJson(this.#bearer.claims)
    return this.#user
  }

  get via (): 'bearer' | null {
    return this.#bearer === null ? null : 'bearer'
  }

  /** A new list on each read (from `rolesClaim`). */
  get roles (): string[] {
    return rolesFrom(this.user, this.#rolesClaim)
  }

  /** A copy on each read: changing it grants nothing. */
  get scopes (): string[] {
    return [...this.#bearer?.scopes ?? []]
  }

  /** The token's `exp` (Unix seconds), or `null` when unknown or anonymous. */
  get expiresAt (): number | null {
    return this.#bearer?.expiresAt ?? null
  }

  isAuthenticated (): boolean {
    return this.#bearer !== null
  }

  /** A bearer caller has no session to log in to (see the relying-party plugin's `request.oidc.login`). */
  async login (): Promise<void> {
    throw new TypeError('request.oidc.login() needs a session: this request was authenticated with a bearer token')
  }

  /** The bearer token the caller presented (for forwarding it); 401 when anonymous. */
  async accessToken (): Promise<string> {
    if (this.#token === undefined) throw new OidcUnauthenticatedError()
    return this.#token
  }

  /**
   * Relays the caller's own token to an allow-listed downstream (see the
   * relying party's `request.oidc.fetch`); a downstream's 401 throws
   * `FST_OIDC_DOWNSTREAM_UNAUTHORIZED` (nothing can refresh it). Without an
   * allow-list (a plain `oidcResourceServer`), `FST_OIDC_DOWNSTREAM_ORIGIN_DENIED`
   * and nothing is sent.
   */
  async fetch (url: string | URL, init?: RequestInit): Promise<Response> {
    if (this.#forwarding === undefined) throw new OidcDownstreamOriginDeniedError('this caller\'s token is not forwarded')
    return await forwardFetch(this.#forwarding, url, init)
  }

  /** Tracing headers, and with an allow-listed `url` the caller's token (see `fetch`). */
  async forwardHeaders (url?: string | URL): Promise<Record<string, string>> {
    if (this.#forwarding === undefined) {
      if (url !== undefined) throw new OidcDownstreamOriginDeniedError('this caller\'s token is not forwarded')
      return {}
    }
    return await forwardHeaders(this.#forwarding, url)
  }
}

/**
 * Verifies a request's bearer token against the scopes and the step-up requirement: the
 * caller, `undefined` when it sent none, or a thrown refusal with its headers set.
 */
export type BearerAuthenticator = (request: FastifyRequest, reply: FastifyReply, scopes: string[], stepUp?: StepUpRequirement) => Promise<BearerContext | undefined>

/** `request.oidc` until `requireBearer` succeeds. */
export const anonymousBearer = new BearerContext(null, undefined, 'roles')
