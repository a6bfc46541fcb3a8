import type { FastifyReply, FastifyRequest } from 'fastify'
import type { OidcClaims, OidcLoginResult, OidcTokenSet } from '../contract.js'

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

/**
 * How the client authenticates at the token, revocation, introspection and
 * pushed authorization request endpoints (`OIDC_TOKEN_AUTH_METHOD`).
 */
export type OidcTokenAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'

/** The providers the `preset` option knows. */
export type OidcPreset = 'keycloak' | 'okta' | 'auth0' | 'entra' | 'google' | 'github'

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

/** Parameters of `authorizeRedirect(request, reply, params)`. */
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
   * `code_challenge`, `code_challenge_method`) cannot be overridden. With `max_age`
   * (whole seconds), the ID token's `auth_time` must be within it; with `acr_values`,
   * its `acr` must be one of them: otherwise the callback answers 403 `FST_OIDC_STEP_UP_FAILED`.
   */
  extra?: Record<string, string> | undefined
  /**
   * A step-up of a signed-in user: the `sub` the login must come back for (another
   * user's login is refused with 403 `FST_OIDC_STEP_UP_SUBJECT_MISMATCH`, nothing stored).
   */
  subject?: string | undefined
}
