// The shared request-context contract: what every caller (session, bearer, Basic)
// looks like to a route as `request.oidc`, and the claims and tokens it is made of.
// Every part implements or reads it; it imports no part.
import type { JWK } from 'jose'

/** Claims about the user: the validated ID token's claims (and userinfo, when fetched). */
export interface OidcClaims {
  sub: string
  [claim: string]: unknown
}

/** The token set the IdP issued; kept sealed in the server-side session. */
export interface OidcTokenSet {
  accessToken: string
  tokenType: string
  refreshToken?: string | undefined
  idToken?: string | undefined
  /** Access-token expiry, Unix seconds. */
  expiresAt?: number | undefined
  scope?: string | undefined
  /**
   * With DPoP (`OIDC_DPOP=true`, RFC 9449): the session's own key pair, which the
   * access and refresh tokens are bound to (`tokenType` `DPoP`). Sealed with the
   * rest of the token set; every request that sends the token carries a proof signed with it.
   */
  dpopKey?: OidcDpopKey | undefined
}

/** A session's DPoP key: the algorithm, the private JWK (never logged, never in a cookie), and its RFC 7638 thumbprint (`cnf.jkt`). */
export interface OidcDpopKey {
  alg: string
  jwk: JWK
  jkt: string
}

/** What `authorizeAccessToken` returns: the validated tokens and the ID token's claims. */
export interface OidcLoginResult {
  tokens: OidcTokenSet
  claims: OidcClaims
  /** The same-origin path the login was started for. */
  returnTo: string
  provider: string
  /**
   * What the login asked for (`acr_values`, `max_age`) and the ID token was checked
   * to satisfy: `login(result)` remembers it, so a guard that still finds the
   * session short right after answers 403 `FST_OIDC_STEP_UP_FAILED` instead of looping.
   */
  stepUp?: { acr?: readonly string[] | undefined, maxAge?: number | undefined } | undefined
}

/** `request.oidc`. */
export interface OidcRequestContext {
  /** The user's claims, or `null` when anonymous. */
  readonly user: OidcClaims | null
  readonly via: 'session' | 'bearer' | 'basic' | null
  readonly roles: string[]
  /** The granted scopes of the access token. */
  readonly scopes: string[]
  /** The access token's expiry, Unix seconds, or `null` when unknown or anonymous. */
  readonly expiresAt: number | null
  isAuthenticated (): boolean
  /**
   * Makes the result of `authorizeAccessToken()` this browser's session (for
   * your own callback route): a new session id, the token set sealed, a `login`
   * audit event; `requireAuth` passes from the next request on. A store failure
   * throws `FST_OIDC_SESSION_STORE_UNAVAILABLE` (503) with a `login_failure` event.
   *
   * @example
   * fastify.get('/authorize', async (request, reply) => {
   *   const result = await fastify.oidc.client().authorizeAccessToken(request, reply)
   *   await request.oidc.login(result)
   *   return reply.redirect(result.returnTo)
   * })
   */
  login (result: OidcLoginResult): Promise<void>
  /**
   * A fresh access token, refreshing first when it is about to expire. With DPoP it is
   * bound to the session's key: useless without a proof (use `fetch` or `forwardHeaders`).
   */
  accessToken (): Promise<string>
  /**
   * The global `fetch` with `Authorization: Bearer <access token>` (refreshed first
   * when about to expire), only for URLs whose origin is in `OIDC_DOWNSTREAMS`:
   * any other URL throws `FST_OIDC_DOWNSTREAM_ORIGIN_DENIED` before anything is sent.
   * `authorization`, `proxy-authorization` and `cookie` in `init.headers` are dropped;
   * the incoming request's tracing headers (`x-request-id`, `traceparent`,
   * `tracestate`, B3) are added unless `init` sets them. Redirects are returned,
   * never followed. A 401 answer refreshes the token (once per session) and sends
   * the request once more when its body can be replayed (not a stream: then the 401
   * is returned); a second 401, or a 401 without a refresh token, throws
   * `FST_OIDC_DOWNSTREAM_UNAUTHORIZED` (log in again). Anonymous: `FST_OIDC_UNAUTHENTICATED`.
   * An origin declared with an exchange (`OIDC_DOWNSTREAM_EXCHANGE`) gets a token
   * exchanged for it at the IdP (RFC 8693, kept in the session until shortly before
   * it expires), never the user's own; a failed exchange throws as a failed refresh
   * does (401 / 502 / 504) and sends nothing. With DPoP (`OIDC_DPOP=true`) the
   * session's tokens go as `Authorization: DPoP <token>` with a fresh proof per
   * request (a downstream's `use_dpop_nonce` challenge is answered once with its nonce).
   *
   * @example
   * const res = await request.oidc.fetch('https://details.internal/products/1')
   * const product = await res.json()
   */
  fetch (url: string | URL, init?: RequestInit): Promise<Response>
  /**
   * Headers for your own HTTP client: the incoming request's tracing headers, and
   * `authorization: Bearer <access token>` (refreshed first when about to expire)
   * only when `url` is given and its origin is in `OIDC_DOWNSTREAMS` (any other URL
   * throws `FST_OIDC_DOWNSTREAM_ORIGIN_DENIED`); for an origin declared with an
   * exchange, the token exchanged for it. Anonymous with a `url`: `FST_OIDC_UNAUTHENTICATED`.
   * A DPoP session's token comes as `authorization: DPoP <token>` with a `dpop` proof
   * for one `method` (default `GET`) request to `url`: ask again for each request.
   *
   * @example
   * const headers = await request.oidc.forwardHeaders('https://reviews.internal')
   * const { body } = await undici.request('https://reviews.internal/reviews/1', { headers })
   */
  forwardHeaders (url?: string | URL, method?: string): Promise<Record<string, string>>
}

declare module 'fastify' {
  interface FastifyRequest {
    oidc: OidcRequestContext
  }
}
