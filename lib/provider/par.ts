import * as oauth from 'oauth4webapi'
import { OidcDiscoveryError, OidcParRejectedError } from '../errors.js'
import { oauthErrorOf, translateIdpError, withReason } from '../idp-errors.js'
import { envPrefix } from './client-auth.js'
import type { ClientCredentials } from './client-credentials.js'
import type { ProviderInfo } from './discovery.js'
import type { ResolvedProvider } from './provider-config.js'

/**
 * The PAR endpoint to push this provider's authorization requests to, or
 * undefined when they go through the browser: `OIDC_PAR=true` always pushes,
 * `auto` only when the metadata says `require_pushed_authorization_requests`,
 * `false` never. Pushing without a `pushed_authorization_request_endpoint` is
 * a configuration error (`FST_OIDC_DISCOVERY_FAILED`: `register()` fails, or
 * logins answer 503 while a later discovery finds it so).
 */
export function parEndpointFor (provider: Pick<ResolvedProvider, 'name' | 'par'>, info: Pick<ProviderInfo, 'metadata' | 'par'>): string | undefined {
  const push = provider.par === true || (provider.par === 'auto' && info.metadata['require_pushed_authorization_requests'] === true)
  if (!push) return undefined
  if (info.par === undefined) {
    const why = provider.par === true ? `${envPrefix(provider)}PAR=true` : 'the metadata requires pushed authorization requests'
    throw new OidcDiscoveryError(`${why} but the metadata has no pushed_authorization_request_endpoint`)
  }
  return info.par
}

/**
 * Pushes the authorization request (RFC 9126), authenticated as the token
 * requests are, and resolves to the `request_uri` to send the browser with.
 * An OAuth error answer is `FST_OIDC_PAR_REJECTED` (502, reason `par_rejected`,
 * with `oauthError`); an unusable answer or a 5xx `FST_OIDC_IDP_BAD_RESPONSE`
 * (502), an unreachable IdP 502, a time-out 504.
 */
export async function pushAuthorizationRequest (credentials: ClientCredentials, parameters: URLSearchParams): Promise<string> {
  const { as, client, auth } = credentials
  try {
    const response = await oauth.pushedAuthorizationRequest(as, client, auth, parameters, credentials.requestOptions())
    return (await oauth.processPushedAuthorizationResponse(as, client, response)).request_uri
  } catch (err) {
    const code = oauthErrorOf(err)
    const translated = translateIdpError(err, 'par')
    if (code === undefined || translated.code !== 'FST_OIDC_IDP_ERROR') throw translated
    throw Object.assign(withReason(new OidcParRejectedError(code), 'par_rejected'), { oauthError: code })
  }
}

/** The URL the browser is sent to after a push: the authorization endpoint with only `client_id` and `request_uri`. */
export function parAuthorizeUrl (authorizationEndpoint: string, clientId: string, requestUri: string): string {
  const url = new URL(authorizationEndpoint)
  url.searchParams.set('client_id', clientId)
  url.searchParams.set('request_uri', requestUri)
  return url.href
}
