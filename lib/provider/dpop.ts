import * as oauth from 'oauth4webapi'
import { OidcDiscoveryError } from '../errors.js'
import { DPOP_KEY_ALGS } from '../tokens/dpop-key.js'
import { envPrefix } from './client-auth.js'
import type { ClientCredentials } from './client-credentials.js'
import type { ProviderInfo } from './discovery.js'
import type { ResolvedProvider } from './provider-config.js'

/**
 * The algorithm of this provider's session keys when its tokens are DPoP-bound
 * (`OIDC_DPOP=true`), or undefined without DPoP: ES256 when the IdP lists it in
 * `dpop_signing_alg_values_supported`, else the first listed one a session key can
 * be made for. An IdP that lists no DPoP algorithm (it does not do DPoP) or none
 * of those is a configuration error (`FST_OIDC_DISCOVERY_FAILED`), never a silent
 * fall-back to bearer tokens.
 */
export function dpopAlgFor (provider: Pick<ResolvedProvider, 'name' | 'dpop'>, info: Pick<ProviderInfo, 'metadata'>): string | undefined {
  if (!provider.dpop) return undefined
  const listed = info.metadata['dpop_signing_alg_values_supported']
  const setting = `${envPrefix(provider)}DPOP=true`
  if (!Array.isArray(listed) || listed.length === 0) {
    throw new OidcDiscoveryError(`${setting} but the IdP's metadata lists no dpop_signing_alg_values_supported: it does not issue DPoP-bound tokens (enable DPoP at the IdP, or unset ${envPrefix(provider)}DPOP)`)
  }
  const alg = DPOP_KEY_ALGS.find((candidate) => listed.includes(candidate))
  if (alg === undefined) throw new OidcDiscoveryError(`${setting} but the IdP accepts DPoP proofs signed with ${listed.join(', ')}, none of ${DPOP_KEY_ALGS.join(', ')}`)
  return alg
}

/**
 * A token endpoint request (`grant_type`, `parameters`) with a DPoP proof of
 * `handle` and the client's own authentication, within `httpTimeout`. An IdP that
 * answers `use_dpop_nonce` (RFC 9449 section 8) gets the request once more with
 * the nonce it sent. Resolves to the successful answer, unread; an OAuth error
 * answer throws oauth4webapi's `ResponseBodyError` (for `translateIdpError`).
 */
export async function dpopTokenRequest (
  credentials: Pick<ClientCredentials, 'as' | 'client' | 'auth' | 'requestOptions'>, handle: oauth.DPoPHandle, grantType: string,
  parameters: Record<string, string> | URLSearchParams, httpTimeout: number, retried = false
): Promise<Response> {
  const { as, client, auth } = credentials
  const response = await oauth.genericTokenEndpointRequest(as, client, auth, grantType, new URLSearchParams(parameters), {
    ...credentials.requestOptions(), signal: AbortSignal.timeout(httpTimeout), DPoP: handle
  })
  if (response.ok) return response
  // Rejects with the answer's OAuth error (or oauth4webapi's for an unusable answer).
  const err: unknown = await oauth.processGenericTokenEndpointResponse(as, client, response).catch((reason: unknown) => reason)
  if (!retried && oauth.isDPoPNonceError(err)) return await dpopTokenRequest(credentials, handle, grantType, parameters, httpTimeout, true)
  throw err
}
