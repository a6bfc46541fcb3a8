import type { preHandlerAsyncHookHandler } from 'fastify'
import type { SessionStore } from '@fastify/session'
import type { OidcAuditEvent } from './audit.js'
import type { OidcBasicOptions } from './basic/options.js'
import type { OidcClaims } from './contract.js'
import type { OidcDownstream } from './downstream-config.js'
import type { OidcClient, OidcEndpoints, OidcPreset, OidcTokenAuthMethod } from './provider/types.js'
import type { OidcResourceServerOptions } from './resource-server/types.js'

// The relying-party plugin's public types: its options, `requireAuth`'s, and its decorators.

/** Options of `fastify.requireAuth(options)`. */
export interface RequireAuthOptions {
  /** Scopes the access token must have been granted (all of them). */
  scopes?: string[] | undefined
  /** Roles the user must have (all of them). */
  roles?: string[] | undefined
  /** A predicate on the user's claims. */
  claims?: ((claims: OidcClaims) => boolean) | undefined
  /** How the caller may authenticate. Default `['session']`. */
  accept?: Array<'session' | 'bearer' | 'basic'> | undefined
  /**
   * Step-up: the `acr` values accepted (any one). A session whose ID token's `acr` is
   * not among them is sent through login with `acr_values` (a browser navigation) or
   * answered 401 `FST_OIDC_STEP_UP_REQUIRED` with the RFC 9470 challenge (anything else).
   */
  acr?: string[] | undefined
  /**
   * Step-up: seconds since the user last authenticated (`auth_time`), at most (plus the
   * clock tolerance). An older login is sent through login with `max_age`, or answered
   * 401 `FST_OIDC_STEP_UP_REQUIRED` with the RFC 9470 challenge.
   */
  maxAge?: number | undefined
}

/** Options of the relying-party plugin. Every option also has an `OIDC_*` env var; options win. */
export interface FastifyOidcOptions extends OidcBasicOptions {
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
  /**
   * `OIDC_TOKEN_AUTH_METHOD`: how the client authenticates at the token, revocation and PAR
   * endpoints. Default `client_secret_basic` with a secret (`client_secret_post` when the IdP
   * offers only that), `private_key_jwt` with a private key only, else `none` (public client, PKCE).
   */
  tokenAuthMethod?: OidcTokenAuthMethod | undefined
  /**
   * `OIDC_CLIENT_PRIVATE_KEY`: the `private_key_jwt` signing key, a PEM (PKCS#8, PKCS#1, SEC1)
   * or a private JWK (RSA, EC P-256/384/521 or Ed25519). Its public half is served at `GET /auth/jwks`.
   */
  clientPrivateKey?: string | Record<string, unknown> | undefined
  /** `OIDC_CLIENT_PRIVATE_KEY_FILE`: a file holding the same (e.g. a mounted Kubernetes secret). */
  clientPrivateKeyFile?: string | undefined
  /** `OIDC_CLIENT_KEY_ID`: the `kid` of the assertions and of the served JWK. Default: its RFC 7638 thumbprint. */
  clientKeyId?: string | undefined
  /**
   * `OIDC_PAR`: pushed authorization requests (RFC 9126). `'auto'` (default): only when the IdP's
   * metadata says `require_pushed_authorization_requests`; `true`: always (the IdP must have a
   * `pushed_authorization_request_endpoint`); `false`: never.
   */
  par?: 'auto' | boolean | undefined
  /**
   * `OIDC_DPOP`: `true` binds the tokens to a key pair of each session (RFC 9449, ES256 unless
   * the IdP lists only other algorithms): the token and refresh requests carry a DPoP proof and
   * `request.oidc.fetch()` sends `Authorization: DPoP` with a fresh proof per request. The IdP must
   * list DPoP (`dpop_signing_alg_values_supported`) in its metadata. With several providers, the
   * top-level setting is each provider's default (`OIDC_<NAME>_DPOP` overrides it). Default `false`.
   */
  dpop?: boolean | undefined
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
  /**
   * `OIDC_DOWNSTREAMS`: origins allowed to receive the user's access token. An entry
   * `{ origin, exchange: { audience, scope } }` (`OIDC_DOWNSTREAM_EXCHANGE=<origin>=<audience>`)
   * allow-lists an origin whose calls carry a token exchanged for it at the IdP (RFC 8693),
   * never the user's own. When given, this option replaces both env vars.
   */
  downstreams?: Array<string | OidcDownstream> | undefined
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
  /** Receives every audit event (it is also logged). */
  onAudit?: ((event: OidcAuditEvent) => void) | undefined
  /** Where env vars are read from. Default `process.env`. */
  env?: Record<string, string | undefined>
}

/** One entry of the `providers` option: its settings, over its `OIDC_<NAME>_*` env vars. */
export interface OidcProviderOptions extends Pick<FastifyOidcOptions,
  'preset' | 'issuer' | 'clientId' | 'clientSecret' | 'scope' | 'endpoints' | 'discoveryUrl' | 'postLogoutRedirectUri' |
  'rolesClaim' | 'idTokenSigningAlgs' | 'fetchUserinfo' | 'serverUrl' | 'realm' | 'tenant' |
  'tokenAuthMethod' | 'clientPrivateKey' | 'clientPrivateKeyFile' | 'clientKeyId' | 'par' | 'dpop'> {
  /** Lowercase letters, digits, `-` and `_`: `/auth/login?provider=<name>`, `OIDC_<NAME>_*` (`-` read as `_`). */
  name: string
}

/** `fastify.oidc`. */
export interface OidcDecorator {
  client (name?: string): OidcClient
}

declare module 'fastify' {
  interface FastifyInstance {
    oidc: OidcDecorator
    requireAuth (options?: RequireAuthOptions): preHandlerAsyncHookHandler
  }
}
