import type { FastifyRequest } from 'fastify'

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

/** The relying-party plugin's options of delegated (HTTP Basic) authentication. */
export interface OidcBasicOptions {
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
  /** Where env vars are read from. Default `process.env`. */
  env?: Record<string, string | undefined>
}
