import * as oauth from 'oauth4webapi'
import type { DPoPHandle } from 'oauth4webapi'
import type { OidcDownstreamExchange } from '../downstream-config.js'
import { OidcIdpResponseError } from '../errors.js'
import { translateIdpError, withReason, type ReasonedError } from '../idp-errors.js'
import type { ClientCredentials } from './client-credentials.js'
import { dpopTokenRequest } from './dpop.js'

/** RFC 8693 section 2.1 `grant_type`. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 8693 section 3: the type of the subject token sent and of the token asked for. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/** What the exchange must issue, by the `token_type` expected. */
const ISSUED = { bearer: 'bearer', dpop: 'DPoP-bound' } as const

/** A token the IdP issued for one downstream in exchange for the user's access token. */
export interface ExchangedToken {
  accessToken: string
  /** `DPoP` when it is bound to the session's DPoP key (the exchange carried a proof), else `Bearer`. */
  tokenType: 'Bearer' | 'DPoP'
  /** Unix seconds, when the IdP said (`expires_in`). */
  expiresAt?: number | undefined
}

/** What the exchange request needs of the client's credentials (see `clientCredentials`). */
export type ExchangeCredentials = Pick<ClientCredentials, 'as' | 'client' | 'auth' | 'requestOptions'>

/** A DPoP session's exchange: its key's handle (the request carries a proof; the token must come back bound) and the time-out. */
export interface ExchangeDpop {
  handle: DPoPHandle
  httpTimeout: number
}

/**
 * An oauth4webapi failure as a plugin error, as the refresh grant's are translated, with
 * the reason `token_exchange_error` instead of `token_error`. An answer that is no
 * bearer (or DPoP) access token is refused by oauth4webapi as unsupported: unusable.
 */
function exchangeError (err: unknown): ReasonedError {
  const translated = err instanceof oauth.UnsupportedOperationError
    ? withReason(new OidcIdpResponseError('the token endpoint answered something unusable'), 'token_error')
    : translateIdpError(err, 'token')
  return translated.reason === 'token_error' ? withReason(translated, 'token_exchange_error') : translated
}

/**
 * RFC 8693 token exchange: the user's access token (`subject_token`, of type
 * access token) for one issued to a downstream (`audience` / `resource`,
 * `scope`), asked for as an access token, with the client's own authentication
 * at the token endpoint (`credentials`: the method the code and refresh grants use,
 * `private_key_jwt` included). Errors are translated as for the refresh grant:
 * `invalid_grant` 401 `FST_OIDC_INVALID_GRANT`; another OAuth error 401
 * `FST_OIDC_IDP_ERROR`; a 5xx or an unusable answer 502 `FST_OIDC_IDP_BAD_RESPONSE`;
 * no answer in time 504 `FST_OIDC_IDP_TIMEOUT`; unreachable 502 `FST_OIDC_IDP_UNREACHABLE`.
 * It does NOT check the issued token (the downstream does): it only needs to be a bearer access token
 * — or, with `dpop` (a DPoP session), a DPoP-bound one: the request carries a proof of the
 * session's key (and the nonce the IdP asks for), and a bearer answer is refused.
 */
export async function exchangeToken (credentials: ExchangeCredentials, subjectToken: string, target: OidcDownstreamExchange, dpop?: ExchangeDpop): Promise<ExchangedToken> {
  const { as, client, auth } = credentials
  const parameters = new URLSearchParams({ subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE })
  if (target.audience !== undefined) parameters.set('audience', target.audience)
  if (target.resource !== undefined) parameters.set('resource', target.resource)
  if (target.scope !== undefined) parameters.set('scope', target.scope)
  let answer: oauth.TokenEndpointResponse
  try {
    const response = dpop === undefined
      ? await oauth.genericTokenEndpointRequest(as, client, auth, TOKEN_EXCHANGE_GRANT, parameters, credentials.requestOptions())
      : await dpopTokenRequest(credentials, dpop.handle, TOKEN_EXCHANGE_GRANT, parameters, dpop.httpTimeout)
    answer = await oauth.processGenericTokenEndpointResponse(as, client, response)
  } catch (err) {
    throw exchangeError(err)
  }
  const expected = dpop === undefined ? 'bearer' : 'dpop'
  if (answer.token_type !== expected) throw withReason(new OidcIdpResponseError(`the token exchange issued no ${ISSUED[expected]} access token`), 'token_exchange_error')
  return {
    accessToken: answer.access_token,
    tokenType: dpop === undefined ? 'Bearer' : 'DPoP',
    ...(answer.expires_in === undefined ? {} : { expiresAt: Math.floor(Date.now() / 1000) + answer.expires_in })
  }
}
