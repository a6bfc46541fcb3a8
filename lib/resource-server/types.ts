import type { preHandlerAsyncHookHandler } from 'fastify'
import type { OidcTokenAuthMethod } from '../provider/types.js'
import type { BearerVerifier, VerifiedBearer } from '../tokens/verified-bearer.js'
import type { ReplayStore } from '../tokens/dpop-replay.js'

export type { BearerVerifier, ReplayStore, VerifiedBearer }

/**
 * Options of `oidcResourceServer`. Every option also has an `OIDC_*` env var
 * (read from `env`, default `process.env`); options win.
 */
export interface OidcResourceServerOptions {
  /** `OIDC_ISSUER`: the `iss` every token must carry. Required. */
  issuer?: string | undefined
  /** `OIDC_AUDIENCE` (comma-separated): a token's `aud` must contain one of these. Required. */
  audience?: string | string[] | undefined
  /** `OIDC_DISCOVERY_URL`: where the metadata is fetched when it differs from the issuer. */
  discoveryUrl?: string | undefined
  /** `OIDC_JWKS_URI`: the signing keys of JWT access tokens. Default: discovered. */
  jwksUri?: string | undefined
  /**
   * `OIDC_INTROSPECT`: verify opaque (non-JWT) tokens with RFC 7662 introspection.
   * Default: true when an introspection endpoint or introspection client id is configured.
   */
  introspect?: boolean | undefined
  /** `OIDC_INTROSPECTION_ENDPOINT`. Default: discovered `introspection_endpoint` (when introspection is on). */
  introspectionEndpoint?: string | undefined
  /** `OIDC_INTROSPECTION_CLIENT_ID`, else `OIDC_CLIENT_ID`: the client authenticating at introspection. */
  clientId?: string | undefined
  /** `OIDC_INTROSPECTION_CLIENT_SECRET`, else `OIDC_CLIENT_SECRET` (sent as HTTP Basic by default). */
  clientSecret?: string | undefined
  /**
   * `OIDC_TOKEN_AUTH_METHOD`: how the introspection client authenticates: `client_secret_basic`
   * (default with a secret), `client_secret_post`, or `private_key_jwt` (default with a key alone).
   */
  tokenAuthMethod?: Exclude<OidcTokenAuthMethod, 'none'> | undefined
  /** `OIDC_CLIENT_PRIVATE_KEY`: the introspection client's `private_key_jwt` key, a PEM or a private JWK. */
  clientPrivateKey?: string | Record<string, unknown> | undefined
  /** `OIDC_CLIENT_PRIVATE_KEY_FILE`: a file holding the same. */
  clientPrivateKeyFile?: string | undefined
  /** `OIDC_CLIENT_KEY_ID`: the `kid` of its assertions. Default: the key's RFC 7638 thumbprint. */
  clientKeyId?: string | undefined
  /** `OIDC_INTROSPECTION_CACHE_TTL`: seconds an active answer is reused (never past the token's `exp`). Default 60; 0 disables. */
  introspectionCacheTtl?: number | undefined
  /**
   * `OIDC_BEARER_CACHE_TTL`: seconds a verified JWT access token is reused without verifying it again
   * (10,000 tokens at most; never past the token's `exp`). Default 60 (at most 3600); 0 disables.
   */
  verifiedTokenCacheTtl?: number | undefined
  /**
   * `OIDC_JWKS_MAX_STALE`: seconds the last good JWKS is still used while refetches fail
   * (stale-if-error; the JWKS is refetched every 10 minutes, at most once per 30 s).
   * Default 86400 (24 h), at most 604800; 0: a JWKS older than 10 minutes is never used when a refetch fails.
   */
  jwksMaxStale?: number | undefined
  /**
   * `OIDC_ACCESS_TOKEN_TYPES`: accepted JWT `typ` headers. Default `at+jwt,application/at+jwt` (RFC 9068).
   * `any` accepts every `typ` (Keycloak, Entra ID send `JWT`); ID tokens are refused all the same.
   */
  accessTokenTypes?: string[] | undefined
  /** `OIDC_ACCESS_TOKEN_ALGS`: accepted JWS algorithms. Default RS/PS/ES 256-512 and EdDSA. Never `none` nor HMAC. */
  algorithms?: string[] | undefined
  /** `OIDC_CLOCK_TOLERANCE`: seconds of clock skew accepted on `exp`, `nbf`, `iat`. Default 60 (at most 300). */
  clockTolerance?: number | undefined
  /** `OIDC_HTTP_TIMEOUT`: milliseconds for each call to the IdP (discovery, JWKS, introspection). Default 5000. */
  httpTimeout?: number | undefined
  /** `OIDC_ALLOW_HTTP`: allow `http:` IdP URLs on non-loopback hosts. */
  allowHttp?: boolean | undefined
  /** `OIDC_REALM`: the `realm` of `WWW-Authenticate`. Default: the first audience. */
  realm?: string | undefined
  /** `OIDC_ROLES_CLAIM`: dotted path of the roles claim. Default `roles`. */
  rolesClaim?: string | undefined
  /**
   * `OIDC_DPOP`: sender-constrained tokens (RFC 9449). `allowed` (default): a DPoP-bound token
   * (`cnf.jkt`) is accepted with the `DPoP` scheme and a valid proof of its key, and never as
   * `Bearer`; plain bearer tokens work as before. `required`: only DPoP-bound tokens with a proof.
   * Proofs are checked against the URL as the service sees it: behind a proxy, set Fastify's `trustProxy`.
   */
  dpop?: 'allowed' | 'required' | undefined
  /**
   * Where DPoP proof ids (`jti`) are claimed once: any object with
   * `claimOnce(key, ttlMs): Promise<boolean>`, such as the `RedisStore` shared by several
   * instances. Default: an in-memory cache of this process (100,000 proofs at most).
   */
  replayStore?: ReplayStore | undefined
  /** Where env vars are read from. Default `process.env`. */
  env?: Record<string, string | undefined>
}

export interface RequireBearerOptions {
  /** Scopes the access token must have been granted (all of them); otherwise 403 `insufficient_scope`. */
  scopes?: string[] | undefined
  /**
   * Step-up (RFC 9470): the `acr` values accepted (any one); a token whose `acr` claim is
   * not among them gets 401 `Bearer error="insufficient_user_authentication", acr_values="…"`.
   */
  acr?: string[] | undefined
  /**
   * Step-up (RFC 9470): seconds since the user authenticated (the token's `auth_time`), at
   * most (plus the clock tolerance); otherwise 401 `insufficient_user_authentication`, `max_age=…`.
   */
  maxAge?: number | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** `oidcResourceServer`: a preHandler answering RFC 6750 errors unless a valid bearer token is sent. */
    requireBearer (options?: RequireBearerOptions): preHandlerAsyncHookHandler
  }
}
