// The options and the handle of the development IdP (lib/dev-idp.ts).
import type { JWK, default as ProviderClass } from 'oidc-provider'
import type { DevIdpTokenExchange } from './dev-idp-token-exchange.js'

export type Provider = ProviderClass

export interface DevIdpClient {
  client_id: string
  /** Omit for a public client (`token_endpoint_auth_method: 'none'`). */
  client_secret?: string
  redirect_uris: string[]
  post_logout_redirect_uris: string[]
  /** Default `client_secret_basic`, or `none` when there is no secret. */
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'
  /** `private_key_jwt`: the client's public keys, inline. */
  jwks?: { keys: JWK[] }
  /** `private_key_jwt`: where the IdP fetches the client's public keys (e.g. the app's `/auth/jwks`). */
  jwks_uri?: string
  /** This client must use pushed authorization requests (RFC 9126). Default false. */
  require_pushed_authorization_requests?: boolean
  backchannel_logout_uri?: string
  /** Put `sid` in ID tokens and logout tokens (OIDC Back-Channel Logout 1.0 §2.4). Default false. */
  backchannel_logout_session_required?: boolean
  /** Default RS256; ES256 keys are in the JWKS as well. */
  id_token_signed_response_alg?: 'RS256' | 'ES256'
}

export interface DevIdpOptions {
  /** 0 (default) picks a free port. */
  port?: number
  /**
   * Host name used in the issuer (e.g. 'localhost', so that the provider's
   * cookies are not shared with an app on 127.0.0.1). The server still
   * listens on 127.0.0.1 only. Default: issuer is http://127.0.0.1:<port>.
   */
  host?: string
  clients: DevIdpClient[]
  /**
   * Extra or overriding claims per login name. Every login name is accepted;
   * one missing here gets the defaults (roles ['user']).
   */
  accounts?: Record<string, Record<string, unknown>>
  /** Default false. */
  rotateRefreshToken?: boolean
  /** Access token lifetime in seconds. Default 3600. */
  accessTokenTtl?: number
  /** ID token lifetime in seconds. Default 3600. */
  idTokenTtl?: number
  /** Refresh token lifetime in seconds. Default 14 days. */
  refreshTokenTtl?: number
  /**
   * Issue RFC 9068 JWT access tokens for this resource indicator, used by
   * default when the client sends no `resource` parameter. Without it,
   * access tokens are opaque and meant for the userinfo endpoint.
   */
  jwtAccessTokens?: {
    audience: string
    /** Scopes this resource server knows. Default 'api:read api:write'. */
    scope?: string
    /** 'opaque' issues opaque tokens for this resource instead (checked by RFC 7662 introspection). Default 'jwt'. */
    format?: 'jwt' | 'opaque'
  }
  /** Every client must use pushed authorization requests (the metadata says `require_pushed_authorization_requests`). Default false. */
  requirePushedAuthorizationRequests?: boolean
  /**
   * DPoP (RFC 9449, on by default): `false` switches it off (the metadata then lists no
   * DPoP algorithm); `'nonce'` makes every DPoP proof carry a nonce the IdP issued
   * (a proof without one is answered `use_dpop_nonce` with a `DPoP-Nonce` header). Default true.
   */
  dpop?: boolean | 'nonce'
  /** Filter oidc-provider's start-up warnings. Default true. */
  quiet?: boolean
  /**
   * Claims added to every JWT access token, e.g. to issue tokens of the size
   * real IdPs issue (the benchmark does). Default none.
   */
  extraAccessTokenClaims?: Record<string, unknown>
  /**
   * Authentication levels (`acr`) this IdP supports, the default first: ID tokens and
   * JWT access tokens then carry `acr` (and access tokens `auth_time`). A login gets
   * the first requested `acr_values` entry it supports, else the default; a request
   * for an `acr` the session lacks asks the user to log in again. Default none.
   */
  acrValues?: string[]
  /**
   * Accept RFC 8693 token exchange (`urn:ietf:params:oauth:grant-type:token-exchange`)
   * from every client: a valid access token of that client (an opaque one, as issued
   * without `jwtAccessTokens`) for an RFC 9068 JWT access token of the same user whose
   * `aud` is the requested `audience` (or `resource`) alone, with the requested scopes it
   * knows. Anything else is `invalid_grant` / `invalid_target`. Default: off.
   */
  tokenExchange?: DevIdpTokenExchange | undefined
}

export interface LogEntry {
  method: string
  /** Path without query string. */
  path: string
  /** `grant_type` of a token endpoint request (whatever its outcome). */
  grantType?: string
  /** Response status, set once the provider has answered. */
  status?: number
  /** oidc-provider's route name (`token`, `revocation`, `pushed_authorization_request`, `authorization`…). */
  route?: string
  /** The client authenticated with a `client_assertion` (private_key_jwt). */
  clientAssertion?: boolean
  /** An authorization request by `request_uri` (after a pushed authorization request). */
  requestUri?: boolean
  /** The request carried a `DPoP` proof header. */
  dpop?: boolean
}

export interface DevIdp {
  issuer: string
  provider: Provider
  /** Every request the provider received, in order. */
  log: LogEntry[]
  /** Token endpoint requests with this grant_type, successful or not. */
  countGrants: (type: string) => number
  close: () => Promise<void>
}
