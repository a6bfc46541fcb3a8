import * as oauth from 'oauth4webapi'
import type { OidcDownstreamExchange } from '../downstream-config.js'
import { OidcIdpError, OidcIdpResponseError, OidcInvalidGrantError } from '../errors.js'
import { isOAuthErrorCode, translateIdpError, withReason, type ReasonedError } from '../idp-errors.js'
import { tokenAuthMethod } from './client-auth.js'
import type { ProviderInfo } from './discovery.js'
import type { ResolvedProvider } from './provider-config.js'

/** RFC 8693 section 2.1 `grant_type`. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 8693 section 3: the type of the subject token sent and of the token asked for. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/** A token the IdP issued for one downstream in exchange for the user's access token. */
export interface ExchangedToken {
  accessToken: string
  /** Unix seconds, when the IdP said (`expires_in`). */
  expiresAt?: number | undefined
}

/** What an oauth4webapi token endpoint request needs: the IdP, the client and its authentication. */
export interface ExchangeCredentials {
  as: oauth.AuthorizationServer
  client: oauth.Client
  auth: oauth.ClientAuth
  /** Options of one request: its time-out, and http allowed for the endpoints the configuration accepted. */
  requestOptions: () => { signal: AbortSignal, [oauth.allowInsecureRequests]: boolean }
}

/** The provider's client authentication at its token endpoint, in oauth4webapi's terms (the method the code and refresh grants use). */
export function exchangeCredentials (provider: ResolvedProvider, info: ProviderInfo, httpTimeout: number): ExchangeCredentials {
  const method = tokenAuthMethod(provider, info.metadata)
  const auth = method === 'client_secret_basic'
    ? oauth.ClientSecretBasic(provider.clientSecret!)
    : method === 'client_secret_post' ? oauth.ClientSecretPost(provider.clientSecret!) : oauth.None()
  return {
    as: { issuer: info.issuer, token_endpoint: info.endpoints.token },
    client: { client_id: provider.clientId },
    auth,
    requestOptions: () => ({ signal: AbortSignal.timeout(httpTimeout), [oauth.allowInsecureRequests]: true })
  }
}

/** An oauth4webapi failure as a plugin error, with the reasons a failed refresh has (`invalid_grant`, `token_exchange_error`, …). */
function exchangeError (err: unknown): ReasonedError {
  // (oauth4webapi reads an OAuth error body from 4xx answers only: a 5xx is an OperationProcessingError.)
  if (err instanceof oauth.ResponseBodyError) {
    if (err.error === 'invalid_grant') return withReason(new OidcInvalidGrantError(), 'invalid_grant')
    // Only the OAuth error code is kept: checked to be a short token, unlike the description.
    return withReason(new OidcIdpError(`the token endpoint answered ${isOAuthErrorCode(err.error) ? err.error : 'error'} to the token exchange`), 'token_exchange_error')
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    return withReason(new OidcIdpError(`the token endpoint refused the client (HTTP ${err.status}) for the token exchange`), 'token_exchange_error')
  }
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    const status = err.cause instanceof Response ? ` (HTTP ${err.cause.status})` : ''
    return withReason(new OidcIdpResponseError(`the token endpoint answered the token exchange with something unusable${status}`), 'token_exchange_error')
  }
  return translateIdpError(err, 'token')
}

/**
 * RFC 8693 token exchange: the user's access token (`subject_token`, of type
 * access token) for one issued to a downstream (`audience` / `resource`,
 * `scope`), asked for as an access token, with the client's own authentication
 * at the token endpoint. Errors are translated as for the refresh grant:
 * `invalid_grant` 401 `FST_OIDC_INVALID_GRANT`; another OAuth error 401
 * `FST_OIDC_IDP_ERROR`; a 5xx or an unusable answer 502 `FST_OIDC_IDP_BAD_RESPONSE`;
 * no answer in time 504 `FST_OIDC_IDP_TIMEOUT`; unreachable 502 `FST_OIDC_IDP_UNREACHABLE`.
 * It does NOT check the issued token (the downstream does): it only needs to be a bearer access token.
 */
export async function exchangeToken (credentials: ExchangeCredentials, subjectToken: string, target: OidcDownstreamExchange): Promise<ExchangedToken> {
  const { as, client, auth } = credentials
  const parameters = new URLSearchParams({ subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE })
  if (target.audience !== undefined) parameters.set('audience', target.audience)
  if (target.resource !== undefined) parameters.set('resource', target.resource)
  if (target.scope !== undefined) parameters.set('scope', target.scope)
  let answer: oauth.TokenEndpointResponse
  try {
    const response = await oauth.genericTokenEndpointRequest(as, client, auth, TOKEN_EXCHANGE_GRANT, parameters, credentials.requestOptions())
    answer = await oauth.processGenericTokenEndpointResponse(as, client, response)
  } catch (err) {
    throw exchangeError(err)
  }
  if (answer.token_type !== 'bearer') throw withReason(new OidcIdpResponseError('the token exchange issued no bearer access token'), 'token_exchange_error')
  return {
    accessToken: answer.access_token,
    ...(answer.expires_in === undefined ? {} : { expiresAt: Math.floor(Date.now() / 1000) + answer.expires_in })
  }
}
