import { OidcDiscoveryError } from '../errors.js'
import { isLoopbackHost } from '../settings.js'
import { fetchFailure, httpStatusFailure, notMetadataFailure } from './discovery-failure.js'
import type { OidcEndpoints } from './types.js'
import { discoveryDocumentUrl, swapOrigin } from './endpoint-url.js'
import type { ResolvedProvider } from './provider-config.js'

/** The subset of OpenID Provider metadata the plugin reads. */
export interface ProviderMetadata {
  issuer: string
  authorization_endpoint?: string | undefined
  token_endpoint?: string | undefined
  jwks_uri?: string | undefined
  userinfo_endpoint?: string | undefined
  end_session_endpoint?: string | undefined
  revocation_endpoint?: string | undefined
  introspection_endpoint?: string | undefined
  id_token_signing_alg_values_supported?: string[] | undefined
  token_endpoint_auth_methods_supported?: string[] | undefined
  code_challenge_methods_supported?: string[] | undefined
  authorization_response_iss_parameter_supported?: boolean | undefined
  [key: string]: unknown
}

/** The endpoints in use after discovery, overrides and the split public/internal rewrite. */
export interface ProviderInfo {
  metadata: ProviderMetadata
  /**
   * The issuer tokens must name: the configured one, or what Entra ID's metadata says
   * (a tenant id for a tenant configured by domain; `…/{tenantid}/v2.0` for a multi-tenant app).
   */
  issuer: string
  /** `jwks` is there for every OpenID Provider (not for an OAuth 2 only one, GitHub). */
  endpoints: Required<Pick<OidcEndpoints, 'authorization' | 'token'>> & OidcEndpoints
  /** The RFC 9126 `pushed_authorization_request_endpoint` (server-side: moved to the discovery URL's origin), when the IdP has one. */
  par: string | undefined
}

/** What discovery needs besides the provider: the shared time-out and http policy. */
export interface DiscoverySettings {
  httpTimeout: number
  allowHttp: boolean
}

export { UNAVAILABLE, MISCONFIGURED } from './discovery-failure.js'

const METADATA_KEYS: Record<keyof OidcEndpoints, keyof ProviderMetadata> = {
  authorization: 'authorization_endpoint',
  token: 'token_endpoint',
  jwks: 'jwks_uri',
  userinfo: 'userinfo_endpoint',
  endSession: 'end_session_endpoint',
  revocation: 'revocation_endpoint',
  introspection: 'introspection_endpoint'
}
/** Endpoints the browser visits: they must use the public origin. The others are called server-side. */
const BROWSER_FACING = new Set<keyof OidcEndpoints>(['authorization', 'endSession'])

/**
 * Fetches the provider metadata from `discoveryUrl` (with the configured
 * time-out), checks that its `issuer` is the configured issuer, and resolves
 * every endpoint: explicit overrides win; otherwise discovered browser-facing
 * endpoints are moved to the public issuer's origin and server-side ones to
 * the discovery URL's origin (split-horizon deployments). When discovery
 * fails but the authorization, token and JWKS endpoints are all configured,
 * those are used alone (an IdP without discovery). An OAuth 2 only provider
 * (GitHub) is not fetched: its endpoints are configured. Failures carry the
 * URL and the cause, and a `reason`: `provider_unavailable` (unreachable, 5xx),
 * `provider_misconfigured` (4xx, not a metadata document); a document that is
 * wrong (another issuer, an endpoint missing or not https) throws without one.
 */
export async function discoverProvider (provider: ResolvedProvider, settings: DiscoverySettings): Promise<ProviderInfo> {
  // GitHub takes the client credentials in the token request's body.
  if (provider.oauth2Only) {
    return { metadata: { issuer: provider.issuer, token_endpoint_auth_methods_supported: ['client_secret_post'] }, issuer: provider.issuer, endpoints: provider.endpoints as ProviderInfo['endpoints'], par: undefined }
  }
  const metadata = await fetchMetadata(provider, settings)
  const issuer = acceptedIssuer(provider, metadata.issuer)
  if (issuer === undefined) {
    throw new OidcDiscoveryError(`the metadata issuer ${JSON.stringify(metadata.issuer)} is not the configured issuer ${JSON.stringify(provider.issuer)}`)
  }
  return { metadata, issuer, endpoints: resolveEndpoints(provider, metadata, settings.allowHttp), par: parEndpoint(provider, metadata, settings.allowHttp) }
}

/** The PAR endpoint, moved to the discovery URL's origin as the other server-side endpoints are. */
function parEndpoint (provider: ResolvedProvider, metadata: ProviderMetadata, allowHttp: boolean): string | undefined {
  const discovered = metadata['pushed_authorization_request_endpoint']
  if (typeof discovered !== 'string' || !URL.canParse(discovered)) return undefined
  const endpoint = swapOrigin(discovered, new URL(provider.issuer).origin, new URL(provider.discoveryUrl).origin)
  assertAllowedScheme(endpoint, 'pushed_authorization_request_endpoint', allowHttp)
  return endpoint
}

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

/**
 * The issuer the metadata may name: the configured one. With the Entra ID preset and a
 * tenant not given by its id (a domain, `common`, `organizations`, `consumers`), also the
 * authority's issuer for a tenant id, or its `{tenantid}` template (multi-tenant apps).
 */
function acceptedIssuer (provider: ResolvedProvider, issuer: string): string | undefined {
  if (issuer === provider.issuer) return issuer
  const authority = provider.entraAuthority
  if (authority === undefined || new RegExp(`/${GUID}/v2\\.0$`, 'i').test(provider.issuer)) return undefined
  const tenant = issuer.startsWith(`${authority}/`) && issuer.endsWith('/v2.0') ? issuer.slice(authority.length + 1, -5) : ''
  return tenant === '{tenantid}' || new RegExp(`^${GUID}$`, 'i').test(tenant) ? issuer : undefined
}

async function fetchMetadata (provider: ResolvedProvider, { httpTimeout }: DiscoverySettings): Promise<ProviderMetadata> {
  const url = discoveryDocumentUrl(provider.discoveryUrl)
  let metadata: unknown
  try {
    let response: Response
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(httpTimeout), headers: { accept: 'application/json' }, redirect: 'error' })
    } catch (err) {
      throw fetchFailure(err, url, httpTimeout)
    }
    if (!response.ok) throw httpStatusFailure(url, response.status)
    metadata = await response.json().catch(() => undefined)
    if (metadata === null || typeof metadata !== 'object' || typeof (metadata as ProviderMetadata).issuer !== 'string') throw notMetadataFailure(url)
  } catch (err) {
    // An IdP without a discovery document is usable when every endpoint a login needs is configured.
    const { authorization, token, jwks } = provider.endpoints
    if (authorization !== undefined && token !== undefined && jwks !== undefined) return { issuer: provider.issuer }
    throw err
  }
  return metadata as ProviderMetadata
}

function resolveEndpoints (config: ResolvedProvider, metadata: ProviderMetadata, allowHttp: boolean): ProviderInfo['endpoints'] {
  const publicOrigin = new URL(config.issuer).origin
  const internalOrigin = new URL(config.discoveryUrl).origin
  const endpoints: OidcEndpoints = {}
  for (const [key, metaKey] of Object.entries(METADATA_KEYS) as Array<[keyof OidcEndpoints, keyof ProviderMetadata]>) {
    const override = config.endpoints[key]
    const discovered = metadata[metaKey]
    if (override !== undefined) {
      endpoints[key] = override
    } else if (typeof discovered === 'string' && URL.canParse(discovered)) {
      const endpoint = BROWSER_FACING.has(key) ? swapOrigin(discovered, internalOrigin, publicOrigin) : swapOrigin(discovered, publicOrigin, internalOrigin)
      assertAllowedScheme(endpoint, String(metaKey), allowHttp)
      endpoints[key] = endpoint
    }
  }
  const missing = (['authorization', 'token', 'jwks'] as const).filter((key) => endpoints[key] === undefined)
  if (missing.length > 0) {
    throw new OidcDiscoveryError(`the metadata has no ${missing.map((k) => METADATA_KEYS[k]).join(', ')} and no override was configured`)
  }
  return endpoints as ProviderInfo['endpoints']
}

/** Discovered endpoints follow the rule configured ones do: https, or http only on a loopback host unless `allowHttp`. */
function assertAllowedScheme (endpoint: string, metaKey: string, allowHttp: boolean): void {
  const { protocol, hostname } = new URL(endpoint)
  if (protocol === 'https:' || (protocol === 'http:' && (allowHttp || isLoopbackHost(hostname)))) return
  throw new OidcDiscoveryError(`the metadata ${metaKey} ${JSON.stringify(endpoint.slice(0, 100))} is not an https URL (http is only accepted for loopback hosts unless OIDC_ALLOW_HTTP=true)`)
}
