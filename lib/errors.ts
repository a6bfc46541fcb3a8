import { createError } from '@fastify/error'

/**
 * Every error the plugin raises, created once at module scope with a stable
 * `code` callers can switch on and the HTTP status it answers with.
 * Messages never carry a token, a secret or an authorization code.
 */

// Configuration and start-up
export const OidcConfigError = createError('FST_OIDC_CONFIG_INVALID', 'fastify-oidc configuration is invalid:\n%s', 500)
export const OidcDiscoveryError = createError('FST_OIDC_DISCOVERY_FAILED', 'OpenID Provider discovery failed: %s', 502)
/**
 * `authorizeRedirect()` was given a `redirectUri` the app did not declare in
 * `redirectUris` (`OIDC_REDIRECT_URIS`): nothing was sent, no redirect made.
 * 500: the redirect URI is chosen by the server's own code (a bug or a
 * configuration gap), never by the user.
 */
export const OidcRedirectUriError = createError('FST_OIDC_REDIRECT_URI_UNDECLARED', 'The redirect URI %s is not declared: add it to redirectUris (OIDC_REDIRECT_URIS)', 500)

// Login transaction (callback) — 400: what the browser brought back is unusable
export const OidcStateMissingError = createError('FST_OIDC_STATE_MISSING', 'The callback carries no state parameter', 400)
export const OidcStateMismatchError = createError('FST_OIDC_STATE_MISMATCH', 'The callback state does not match a login started in this browser', 400)
export const OidcStateReplayedError = createError('FST_OIDC_STATE_REPLAYED', 'This login response was already used', 400)
export const OidcCallbackMalformedError = createError('FST_OIDC_CALLBACK_MALFORMED', 'The callback is malformed: %s', 400)
export const OidcIssuerMismatchError = createError('FST_OIDC_ISS_MISMATCH', 'The callback iss parameter does not identify the expected OpenID Provider: %s', 400)
export const OidcUnknownProviderError = createError('FST_OIDC_UNKNOWN_PROVIDER', 'Unknown provider: %s', 400)
export const OidcProviderMismatchError = createError('FST_OIDC_PROVIDER_MISMATCH', 'The response reached the callback of another provider than the one the login was started at', 400)
export const OidcInsecureTransportError = createError('FST_OIDC_INSECURE_TRANSPORT', 'The login must complete over https (behind a TLS-terminating proxy, set Fastify\'s trustProxy)', 400)

// The IdP said no, or its tokens are not acceptable — 401
export const OidcIdpError = createError('FST_OIDC_IDP_ERROR', 'The identity provider refused the request: %s', 401)
export const OidcIdTokenInvalidError = createError('FST_OIDC_ID_TOKEN_INVALID', 'The ID token was rejected: %s', 401)
export const OidcInvalidGrantError = createError('FST_OIDC_INVALID_GRANT', 'The identity provider rejected the grant (invalid_grant)', 401)

// The IdP is unusable — 502 / 504
export const OidcIdpResponseError = createError('FST_OIDC_IDP_BAD_RESPONSE', 'The identity provider gave an unusable answer: %s', 502)
export const OidcIdpUnreachableError = createError('FST_OIDC_IDP_UNREACHABLE', 'The identity provider could not be reached', 502)
export const OidcIdpTimeoutError = createError('FST_OIDC_IDP_TIMEOUT', 'The identity provider did not answer in time', 504)
/**
 * The IdP answered the pushed authorization request (RFC 9126) with an OAuth error
 * (`invalid_request`, `invalid_client`…): the login could not start. A request the
 * server built from its own settings, so a configuration problem (the log says which
 * setting), answered 502 and never blamed on the user.
 */
export const OidcParRejectedError = createError('FST_OIDC_PAR_REJECTED', 'The identity provider refused the pushed authorization request: %s', 502)
/** The provider's metadata could not be fetched yet (IdP down at start-up): retried in the background; `Retry-After` says when. */
export const OidcProviderUnavailableError = createError('FST_OIDC_PROVIDER_UNAVAILABLE', 'The identity provider %s is not available yet: try again shortly', 503)
/**
 * The provider's metadata URL answers, but not with the configured issuer's metadata (404,
 * not JSON, another issuer): the application's settings are wrong. Retried in the background
 * all the same (the server log names the URL and the cause at every try); waiting will not help the user.
 */
export const OidcProviderMisconfiguredError = createError('FST_OIDC_PROVIDER_MISCONFIGURED', 'The identity provider %s cannot be used: this application is misconfigured (its administrator must fix its OpenID Connect settings; the server log says what is wrong)', 503)

// The session store failed — 503
export const OidcSessionStoreError = createError('FST_OIDC_SESSION_STORE_UNAVAILABLE', 'The session store is unavailable', 503)
/**
 * This session's refresh-token grant was sent to the identity provider, which has
 * not answered yet (an earlier request got 504 `FST_OIDC_IDP_TIMEOUT`). No second
 * grant is sent while it may still be processed (an IdP that rotates refresh tokens
 * would take the old one's reuse as theft and revoke the grant): the session is
 * kept, its late answer is saved into it, and `Retry-After` says when to try again.
 */
export const OidcRefreshPendingError = createError('FST_OIDC_REFRESH_PENDING', 'This session is still being refreshed at the identity provider: try again shortly', 503)

// Back-channel logout (OIDC Back-Channel Logout 1.0)
export const OidcLogoutTokenInvalidError = createError('FST_OIDC_LOGOUT_TOKEN_INVALID', 'The logout token was rejected: %s', 400)
export const OidcBackchannelUnsupportedError = createError('FST_OIDC_BACKCHANNEL_UNSUPPORTED', 'Back-channel logout needs a session store that can find sessions (memory or Redis)', 501)
export const OidcMethodNotAllowedError = createError('FST_OIDC_METHOD_NOT_ALLOWED', 'Method not allowed: use %s', 405)

// Delegated authentication (HTTP Basic)
export const OidcBasicMalformedError = createError('FST_OIDC_BASIC_MALFORMED', 'Malformed Basic credentials: %s', 400)
export const OidcBasicInsecureTransportError = createError('FST_OIDC_BASIC_INSECURE_TRANSPORT', 'Basic credentials are only accepted over https', 400)
export const OidcBasicThrottledError = createError('FST_OIDC_BASIC_THROTTLED', 'Too many failed logins: try again later', 429)
export const OidcAuthenticatorError = createError('FST_OIDC_AUTHENTICATOR_UNAVAILABLE', 'The user directory is unavailable', 503)

// Guards and session routes
export const OidcUnauthenticatedError = createError('FST_OIDC_UNAUTHENTICATED', 'Authentication required', 401)
export const OidcForbiddenError = createError('FST_OIDC_FORBIDDEN', 'Access denied: %s', 403)
export const OidcCrossOriginError = createError('FST_OIDC_CROSS_ORIGIN_REQUEST', 'Cross-origin request refused', 403)
export const OidcNoRefreshTokenError = createError('FST_OIDC_NO_REFRESH_TOKEN', 'The session holds no refresh token', 401)
export const OidcRefreshFailedError = createError('FST_OIDC_REFRESH_FAILED', 'The session could not be refreshed: %s', 401)

// Step-up authentication (`acr` / `maxAge` of requireAuth and requireBearer; RFC 9470)
/**
 * The caller is signed in, but the route asks for a stronger (`acr`) or more recent
 * (`maxAge`) authentication than theirs: an API request gets this 401 with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="…", max_age=…`
 * (a browser navigation is sent through login instead).
 */
export const OidcStepUpRequiredError = createError('FST_OIDC_STEP_UP_REQUIRED', 'A stronger or more recent authentication is required: %s', 401)
/**
 * A login that asked for `acr_values` / `max_age` came back without them (the IdP
 * ignored the request, gave a lower `acr`, an old, missing or future `auth_time`),
 * or a step-up login just made still does not satisfy the route: never a second
 * round trip to the IdP. The message says what was asked and what came back.
 */
export const OidcStepUpFailedError = createError('FST_OIDC_STEP_UP_FAILED', 'The login did not give the authentication asked for: asked for %s; got %s', 403)
/** A step-up login of a signed-in user came back for another user: refused, the session is kept as it was. */
export const OidcStepUpSubjectError = createError('FST_OIDC_STEP_UP_SUBJECT_MISMATCH', 'The step-up login was made by another user than the one signed in: the session is kept as it was', 403)

// Downstream forwarding (request.oidc.fetch / forwardHeaders)
/**
 * The application asked to send the user's access token to a URL whose origin is
 * not in `OIDC_DOWNSTREAMS` (or that is not an absolute http(s) URL, or carries
 * credentials). Nothing was sent. 500: the URL is chosen by the server's own code,
 * so this is a bug or a configuration gap — answered as a server error and logged
 * at error level, never blamed on the user. An app that builds downstream URLs from
 * user input must validate that input itself (and may catch this code to answer 400).
 * The message names only the reason; the refused origin is on the error's `origin`
 * property (logged, not sent to the client).
 */
export const OidcDownstreamOriginDeniedError = createError('FST_OIDC_DOWNSTREAM_ORIGIN_DENIED', 'The access token may not be sent to this URL: %s', 500)
/**
 * A downstream service answered 401 to the user's access token and refreshing it
 * did not help (the retry with the new token got 401 too), or the session cannot
 * refresh (no refresh token). The user must log in again; the session is left as it is.
 */
export const OidcDownstreamUnauthorizedError = createError('FST_OIDC_DOWNSTREAM_UNAUTHORIZED', 'A downstream service refused the access token: log in again', 401)

// Resource server (RFC 6750) — requireBearer also sets `WWW-Authenticate` (and `Retry-After` for 503).
// Messages name the reason only: never the token, nor a claim value taken from it.
export const OidcBearerMissingError = createError('FST_OIDC_BEARER_MISSING', 'A bearer access token is required', 401)
export const OidcTokenInvalidError = createError('FST_OIDC_TOKEN_INVALID', 'The access token was rejected: %s', 401)
export const OidcInsufficientScopeError = createError('FST_OIDC_INSUFFICIENT_SCOPE', 'The access token lacks a required scope', 403)
export const OidcBearerRequestInvalidError = createError('FST_OIDC_BEARER_REQUEST_INVALID', 'The request is malformed: %s', 400)
/**
 * The DPoP proof (RFC 9449) sent with a DPoP-bound access token is missing, malformed, signed with a
 * refused algorithm, for another request (`htm` / `htu`), too old or in the future, already used
 * (`jti`), for another token (`ath`) or another key than the token is bound to (`cnf.jkt`):
 * 401 `WWW-Authenticate: DPoP error="invalid_dpop_proof"` with the accepted `algs`.
 */
export const OidcDpopProofInvalidError = createError('FST_OIDC_DPOP_PROOF_INVALID', 'The DPoP proof was rejected: %s', 401)
export const OidcVerifierUnavailableError = createError('FST_OIDC_VERIFIER_UNAVAILABLE', 'The access token cannot be verified right now: %s', 503)

/** A plugin error: has a stable `code` and an HTTP `statusCode`. */
export interface OidcError extends Error {
  code: string
  statusCode: number
}

/** True for any error created in this file. */
export function isOidcError (err: unknown): err is OidcError {
  return err instanceof Error &&
    typeof (err as Partial<OidcError>).code === 'string' &&
    (err as OidcError).code.startsWith('FST_OIDC_') &&
    typeof (err as Partial<OidcError>).statusCode === 'number'
}
