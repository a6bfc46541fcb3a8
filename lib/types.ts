import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { SessionStore } from '@fastify/session'
import type { OidcResourceServerOptions } from './resource-server/types.js'

/** Claims about the user: the validated ID token's claims (and userinfo, when fetched). */
export interface OidcClaims {
  sub: string
  [claim: string]: unknown
}

/** The endpoints of an OpenID Provider, discovered or configured. */
export interface OidcEndpoints {
  authorization?: string | undefined
  token?: string | undefined
  jwks?: string | undefined
  userinfo?: string | undefined
  endSession?: string | undefined
  revocation?: string | undefined
  introspection?: string | undefined
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
}

/** What `authorizeAccessToken` returns: the validated tokens and the ID token's claims. */
export interface OidcLoginResult {
  tokens: OidcTokenSet
  claims: OidcClaims
  /** The same-origin path the login was started for. */
  returnTo: string
  provider: string
}

export type OidcAuditEventType =
  | 'login' | 'login_failure' | 'logout' | 'refresh' | 'refresh_failure'
  | 'backchannel_logout' | 'backchannel_logout_failure' | 'basic_auth' | 'basic_auth_failure'

/** One audit-trail entry. Never holds a token, secret, password or authorization code. */
export interface OidcAuditEvent {
  type: OidcAuditEventType
  /** ISO 8601 UTC time. */
  at: string
  provider?: string | undefined
  sub?: string | undefined
  sid?: string | undefined
  reason?: string | undefined
  /** Basic authentication: the username given, encoded so that it cannot forge a log line. */
  username?: string | undefined
  ip: string
  requestId: string
  /** The route's URL pattern (`/api/stock`), or the path when no route matched. */
  route: string
}

export interface RequireAuthOptions {
  /** Scopes the access token must have been granted (all of them). */
  scopes?: string[] | undefined
  /** Roles the user must have (all of them). */
  roles?: string[] | undefined
  /** A predicate on the user's claims. */
  claims?: ((claims: OidcClaims) => boolean) | undefined
  /** How the caller may authenticate. Default `['session']`. */
  accept?: Array<'session' | 'bearer' | 'basic'> | undefined
}

/** Options of the relying-party plugin. Every option also has an `OIDC_*` env var; options win. */
export interface FastifyOidcOptions {
  /**
   * Several providers (`OIDC_PROVIDERS=keycloak,google` and `OIDC_<NAME>_*` env vars fill
   * what an entry leaves out). The first is the default; its callback is `/auth/callback`,
   * each other's `/auth/callback/<name>`. The provider options below (issuer, clientId…)
   * are then set per entry, not at the top level.
   */
  providers?: OidcProviderOptions[] | undefined
  /** `OIDC_PRESET`: fills a known provider's quirks (issuer, roles claim, logout, GitHub's OAuth 2). */
  preset?: OidcPreset | undefined
  /** `OIDC_SERVER_URL`: for presets, the IdP's base URL (Keycloak server, Entra authority, Okta/Auth0/GitHub Enterprise origin). */
  serverUrl?: string | undefined
  /** `OIDC_REALM`: the Keycloak realm (preset `keycloak`). */
  realm?: string | undefined
  /** `OIDC_TENANT`: the Entra ID tenant id or domain, or `common` / `organizations` / `consumers` (preset `entra`). */
  tenant?: string | undefined
  /** `OIDC_FETCH_USERINFO`: after login, fetch userinfo and merge it into the claims (only when its `sub` is the ID token's). */
  fetchUserinfo?: boolean | undefined
  /** `OIDC_METADATA_REFRESH`: seconds between refreshes of the provider metadata and keys. Default 600. */
  metadataRefresh?: number | undefined
  /** `OIDC_ISSUER`: the OpenID Provider's issuer URL. */
  issuer?: string | undefined
  /** `OIDC_CLIENT_ID`. */
  clientId?: string | undefined
  /** `OIDC_CLIENT_SECRET`; none makes a public client (PKCE only). */
  clientSecret?: string | undefined
  /** `OIDC_BASE_URL`: the app's public origin; the redirect URI is base + prefix + `/callback`. */
  baseUrl?: string | undefined
  /**
   * `OIDC_REDIRECT_URIS` (comma-separated): the app's own callback URLs that
   * `authorizeRedirect(request, reply, { redirectUri })` may send (Authlib's
   * own-routes pattern), each under the base URL (absolute, or a path such as
   * `/authorize`). The built-in callback is always allowed; any other is refused.
   */
  redirectUris?: string[] | undefined
  /** `OIDC_SESSION_SECRET`: at least 32 characters; a list rotates (the first seals, all open). */
  sessionSecret?: string | string[] | undefined
  /** `OIDC_SCOPE`: default `openid profile email`. */
  scope?: string | undefined
  /** `OIDC_*_ENDPOINT` / `OIDC_JWKS_URI`: override discovered endpoints. */
  endpoints?: OidcEndpoints | undefined
  /** `OIDC_DISCOVERY_URL`: where metadata and JWKS are fetched when it differs from the issuer. */
  discoveryUrl?: string | undefined
  /** `OIDC_POST_LOGOUT_REDIRECT_URI`: default base + `/`. */
  postLogoutRedirectUri?: string | undefined
  /** `OIDC_DOWNSTREAMS`: origins allowed to receive the user's access token. */
  downstreams?: string[] | undefined
  /**
   * `OIDC_SESSION_STORE`: `memory` (default, one process), a `redis://` / `rediss://` URL
   * (shared by every instance), `redis+cluster://h:p,h:p` / `rediss+cluster://…` (Redis
   * Cluster seed nodes), `redis+sentinel://h:p,h:p/<master-name>` / `rediss+sentinel://…`
   * (Sentinels; `?sentinelPassword=`), or a store object: a `RedisStore` built on your own
   * `ioredis` `Redis` or `Cluster` client, or any `@fastify/session` store.
   */
  sessionStore?: 'memory' | `redis://${string}` | `rediss://${string}` | `redis+cluster://${string}` | `rediss+cluster://${string}` |
  `redis+sentinel://${string}` | `rediss+sentinel://${string}` | SessionStore | undefined
  /** `OIDC_ALLOW_HTTP`: allow `http:` IdP URLs on non-loopback hosts. */
  allowHttp?: boolean | undefined
  /** Route prefix, default `/auth`. */
  prefix?: string | undefined
  /** `OIDC_REFRESH_LEEWAY`: seconds before expiry when the access token is refreshed. Default 30. */
  refreshLeeway?: number | undefined
  /** `OIDC_CLOCK_TOLERANCE`: seconds of clock skew accepted on `iat`/`exp`. Default 60. */
  clockTolerance?: number | undefined
  /** `OIDC_HTTP_TIMEOUT`: milliseconds for each call to the IdP. Default 5000. */
  httpTimeout?: number | undefined
  /** `OIDC_ROLES_CLAIM`: dotted path of the roles claim. Default `roles`. */
  rolesClaim?: string | undefined
  /** `OIDC_ID_TOKEN_ALGS`: accepted ID-token algorithms. Default: the IdP's asymmetric ones. */
  idTokenSigningAlgs?: string[] | undefined
  /** `OIDC_SESSION_MAX_AGE`: session lifetime in seconds. Default 28800 (8 h). */
  sessionMaxAge?: number | undefined
  /**
   * `OIDC_SESSION_IDLE_TIMEOUT`: seconds without a request after which the session ends
   * (a rolling lifetime inside the absolute `sessionMaxAge`). Default 0: off.
   */
  sessionIdleTimeout?: number | undefined
  /** `OIDC_REVOKE_ON_LOGOUT`: revoke the refresh token at logout when the IdP can. Default true. */
  revokeOnLogout?: boolean | undefined
  /** `OIDC_MEMORY_STORE_MAX`: most sessions the memory store holds. Default 10000. */
  memoryStoreMax?: number | undefined
  /**
   * `OIDC_COOKIE_NAME`: name of the session cookie. Default `__Host-oidc.sid` when the
   * base URL is https and no `cookieDomain` is set, else `oidc.sid`.
   */
  cookieName?: string | undefined
  /**
   * `OIDC_COOKIE_DOMAIN`: `Domain` of the session cookie (the base URL's host or a parent
   * domain), to share it with subdomains; the default name is then `oidc.sid`. Default: none (host-only).
   */
  cookieDomain?: string | undefined
  /**
   * Accept bearer access tokens too, with `requireAuth({ accept: ['bearer'] })`: the
   * options of `oidcResourceServer` (`audience` required, or `OIDC_AUDIENCE`). Issuer,
   * discovery URL, JWKS, time-out, clock tolerance and roles claim default to this
   * plugin's. Setting `OIDC_AUDIENCE` alone also enables it.
   */
  resourceServer?: OidcResourceServerOptions | undefined
  /**
   * Delegated authentication: checks HTTP Basic credentials against the application's
   * own users, for routes guarded with `requireAuth({ accept: ['basic'] })`. The route's
   * config is `request.routeOptions.config`. Resolve to the user, or `null` for unknown
   * users and wrong passwords alike; a throw answers 503, never 401.
   */
  authenticate?: OidcAuthenticate | undefined
  /** `OIDC_BASIC_REALM`: the realm of the Basic challenge. Default `fastify-oidc`. */
  basicRealm?: string | undefined
  /** `OIDC_BASIC_ALLOW_HTTP`: accept Basic over plain http to a non-loopback base URL. Default false. */
  basicAllowHttp?: boolean | undefined
  /** `OIDC_BASIC_MAX_FAILURES`: failed Basic logins per username, and per client IP, before 429. Default 5. */
  basicMaxFailures?: number | undefined
  /** `OIDC_BASIC_FAILURE_WINDOW`: seconds failures are counted in. Default 300. */
  basicFailureWindow?: number | undefined
  /** Receives every audit event (it is also logged). */
  onAudit?: ((event: OidcAuditEvent) => void) | undefined
  /** Where env vars are read from. Default `process.env`. */
  env?: Record<string, string | undefined>
}

/** What `authenticate` resolves to for a known user with the right password. */
export interface OidcBasicUser {
  /** The user's stable identifier (`request.oidc.user.sub`). */
  sub: string
  /** `request.oidc.roles`, checked by `requireAuth({ roles })`. */
  roles?: string[] | undefined
  /** More claims for `request.oidc.user`. */
  claims?: Record<string, unknown> | undefined
}

/** The application's check of Basic credentials (delegated authentication). */
export type OidcAuthenticate = (username: string, password: string, request: FastifyRequest) => Promise<OidcBasicUser | null> | OidcBasicUser | null

/** The providers the `preset` option knows. */
export type OidcPreset = 'keycloak' | 'okta' | 'auth0' | 'entra' | 'google' | 'github'

/** One entry of the `providers` option: its settings, over its `OIDC_<NAME>_*` env vars. */
export interface OidcProviderOptions extends Pick<FastifyOidcOptions,
  'preset' | 'issuer' | 'clientId' | 'clientSecret' | 'scope' | 'endpoints' | 'discoveryUrl' | 'postLogoutRedirectUri' |
  'rolesClaim' | 'idTokenSigningAlgs' | 'fetchUserinfo' | 'serverUrl' | 'realm' | 'tenant'> {
  /** Lowercase letters, digits, `-` and `_`: `/auth/login?provider=<name>`, `OIDC_<NAME>_*` (`-` read as `_`). */
  name: string
}

/** The Authlib-style low-level client for one provider. */
export interface OidcClient {
  readonly name: string
  /** Starts a login: sets the sealed transaction cookie and redirects to the authorization endpoint. */
  authorizeRedirect (request: FastifyRequest, reply: FastifyReply, params?: AuthorizeParams): Promise<FastifyReply>
  /** Completes a login on the callback: checks state and `iss`, exchanges the code, validates the ID token. */
  authorizeAccessToken (request: FastifyRequest, reply: FastifyReply): Promise<OidcLoginResult>
  /** Fetches the userinfo endpoint with the access token. */
  userinfo (tokens: OidcTokenSet | string): Promise<Record<string, unknown>>
  /** Runs the refresh-token grant; validates a new ID token against the old claims. */
  refresh (tokens: OidcTokenSet, previousClaims?: OidcClaims): Promise<{ tokens: OidcTokenSet, claims?: OidcClaims }>
  /** Revokes a token at the revocation endpoint (no-op when the IdP has none). Resolves to whether a call was made. */
  revoke (token: string, hint?: 'refresh_token' | 'access_token'): Promise<boolean>
  /** The URL the browser is sent to at logout (end-session endpoint, or the post-logout URI). */
  logoutUrl (idToken?: string): string
}

export interface AuthorizeParams {
  /** Same-origin path to return to after login. */
  returnTo?: string | undefined
  /**
   * Where the IdP sends the browser back (Authlib's `redirect_uri`): the
   * built-in callback (default) or one of `redirectUris` (an absolute URL, or a
   * path under the base URL). Any other throws `FST_OIDC_REDIRECT_URI_UNDECLARED`
   * before anything is sent. `authorizeAccessToken()` sends the same one.
   */
  redirectUri?: string | undefined
  /**
   * Extra authorization request parameters (`prompt`, `login_hint`, `acr_values`, `max_age`…).
   * The protocol's own (`response_type`, `client_id`, `redirect_uri`, `state`, `nonce`,
   * `code_challenge`, `code_challenge_method`) cannot be overridden. With `max_age`,
   * the ID token's `auth_time` is checked.
   */
  extra?: Record<string, string> | undefined
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
  /** A fresh access token, refreshing first when it is about to expire. */
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
   * throws `FST_OIDC_DOWNSTREAM_ORIGIN_DENIED`). Anonymous with a `url`: `FST_OIDC_UNAUTHENTICATED`.
   *
   * @example
   * const headers = await request.oidc.forwardHeaders('https://reviews.internal')
   * const { body } = await undici.request('https://reviews.internal/reviews/1', { headers })
   */
  forwardHeaders (url?: string | URL): Promise<Record<string, string>>
}

export interface OidcDecorator {
  client (name?: string): OidcClient
}

declare module 'fastify' {
  interface FastifyInstance {
    oidc: OidcDecorator
    requireAuth (options?: RequireAuthOptions): preHandlerAsyncHookHandler
  }
  interface FastifyRequest {
    oidc: OidcRequestContext
  }
}
