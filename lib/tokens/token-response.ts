import { OidcIdpError, OidcIdpResponseError } from '../errors.js'
import { isOAuthErrorCode, withReason } from '../idp-errors.js'
import type { OidcDpopKey, OidcTokenSet } from '../contract.js'

/**
 * Checks a token endpoint answer (RFC 6749 5.1) and turns it into a token set.
 * On a refresh (`previous` given) the refresh token, ID token and scope the IdP
 * did not send again are kept; at login a missing `scope` is the requested one.
 * Anything malformed is 502 `FST_OIDC_IDP_BAD_RESPONSE` (reason `token_error`);
 * an OAuth error in a 200 answer (GitHub answers its errors so) is 401 `FST_OIDC_IDP_ERROR`.
 * With `dpopKey` (the request carried a DPoP proof of it) the token must be DPoP-bound
 * (`token_type` `DPoP`): a bearer token is refused, never used instead; the key is kept
 * with the token set.
 *
 * @example
 * const tokens = parseTokenResponse(await exchange(), { requestedScope: 'openid email' })
 */
export function parseTokenResponse (response: Record<string, unknown>, context: { previous?: OidcTokenSet, requestedScope: string, dpopKey?: OidcDpopKey | undefined }): OidcTokenSet {
  const { access_token: accessToken, token_type: tokenType, refresh_token: refreshToken, id_token: idToken, expires_in: expiresIn, scope } = response
  const bad = (what: string): Error => withReason(new OidcIdpResponseError(`the token response ${what}`), 'token_error')
  if (isOAuthErrorCode(response['error'])) throw withReason(new OidcIdpError(`the token endpoint answered ${response['error']}`), 'token_error')
  if (typeof accessToken !== 'string' || accessToken === '') throw bad('has no access_token')
  const { dpopKey } = context
  const expected = dpopKey === undefined ? 'Bearer' : 'DPoP'
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== expected.toLowerCase()) {
    throw bad(dpopKey === undefined ? 'token_type is not Bearer' : 'token_type is not DPoP: the IdP did not bind the token to the DPoP key (is DPoP enabled for this client?)')
  }
  if (refreshToken !== undefined && typeof refreshToken !== 'string') throw bad('has a malformed refresh_token')
  if (idToken !== undefined && typeof idToken !== 'string') throw bad('has a malformed id_token')
  const lifetime = typeof expiresIn === 'string' && /^\d+$/.test(expiresIn) ? Number(expiresIn) : expiresIn
  if (lifetime !== undefined && (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0)) throw bad('has a malformed expires_in')

  const { previous } = context
  const now = Math.floor(Date.now() / 1000)
  const tokens: OidcTokenSet = { accessToken, tokenType: expected }
  if (dpopKey !== undefined) tokens.dpopKey = dpopKey
  const keptRefresh = refreshToken ?? previous?.refreshToken
  const keptId = idToken ?? previous?.idToken
  if (keptRefresh !== undefined) tokens.refreshToken = keptRefresh
  if (keptId !== undefined) tokens.idToken = keptId
  if (lifetime !== undefined) tokens.expiresAt = now + lifetime
  // RFC 6749 5.1: without `scope` the granted scope is the requested one (the previous one on a refresh).
  tokens.scope = typeof scope === 'string' ? scope : previous?.scope ?? context.requestedScope
  return tokens
}
