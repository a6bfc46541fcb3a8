import { OidcDiscoveryError } from '../errors.js'
import { isLoopbackHost, type ResolvedConfig } from '../config.js'
import type { OidcEndpoints } from '../types.js'

/** The subset of OpenID Provider metadata the plugin reads. */
export interface ProviderMetadata {
  issuer: string
  authorization_endpoint?: string
  token_endpoint?: string
  jwks_uri?: string
  userinfo_endpoint?: string
  end_session_endpoint?: string
  revocation_endpoint?: string
  introspection_endpoint?: string
  id_token_signing_alg_values_supported?: string[]
  token_endpoint_auth_methods_supported?: string[]
  code_challenge_methods_supported?: string[]
  authorization_response_iss_parameter_supported?: boolean
  [key: string]: unknown
}

/** The endpoints in use after discovery, overrides and the split public/internal rewrite. */
export interface ProviderInfo {
  metadata: ProviderMetadata
  endpoints: Required<Pick<OidcEndpoints, 'authorization' | 'token' | 'jwks'>> & OidcEndpoints
}

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

/** `https://idp/realms/x` -> `https://idp/realms/x/.well-known/openid-configuration`. */
export function discoveryDocumentUrl (base: string): string {
  return `${base.replace(/\/+$/, '')}/.well-known/openid-configuration`
}

/**
 * Fetches the provider metadata from `config.discoveryUrl` (with the configured
 * time-out), checks that its `issuer` is exactly the configured issuer, and
 * resolves every endpoint: explicit overrides win; otherwise discovered
 * browser-facing endpoints are moved to the public issuer's origin and
 * server-side ones to the discovery URL's origin (split-horizon deployments).
 * When discovery fails but the authorization, token and JWKS endpoints are all
 * configured, those are used alone (an IdP without discovery).
 */
export async function discoverProvider (config: ResolvedConfig): Promise<ProviderInfo> {
  const metadata = await fetchMetadata(config)
  if (metadata.issuer !== config.issuer) {
    throw new OidcDiscoveryError(`the metadata issuer ${JSON.stringify(metadata.issuer)} is not the configured issuer ${JSON.stringify(config.issuer)}`)
  }
  return { metadata, endpoints: resolveEndpoints(config, metadata) }
}

async function fetchMetadata (config: ResolvedConfig): Promise<ProviderMetadata> {
  const url = discoveryDocumentUrl(config.discoveryUrl)
  let metadata: unknown
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(config.httpTimeout), headers: { accept: 'application/json' }, redirect: 'error' })
    if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`)
    metadata = await response.json()
  } catch (err) {
    // An IdP without a discovery document is usable when every endpoint a login needs is configured.
    const { authorization, token, jwks } = config.endpoints
    if (authorization !== undefined && token !== undefined && jwks !== undefined) return { issuer: config.issuer }
    throw new OidcDiscoveryError(err instanceof Error && err.name === 'TimeoutError' ? `${url} did not answer within ${config.httpTimeout} ms` : (err as Error).message, { cause: err })
  }
  if (metadata === null || typeof metadata !== 'object' || typeof (metadata as ProviderMetadata).issuer !== 'string') {
    throw new OidcDiscoveryError(`${url} did not return an OpenID Provider metadata document`)
  }
  return metadata as ProviderMetadata
}

function resolveEndpoints (config: ResolvedConfig, metadata: ProviderMetadata): ProviderInfo['endpoints'] {
  const publicOrigin = new URL(config.issuer).origin
  const internalOrigin = new URL(config.discoveryUrl).origin
  const endpoints: OidcEndpoints = {}
  for (const [key, metaKey] of Object.entries(METADATA_KEYS) as Array<[keyof OidcEndpoints, keyof ProviderMetadata]>) {
    const override = config.endpoints[key]
    const discovered = metadata[metaKey]
    if (override !== undefined) {
      endpoints[key] = override
    } else if (typeof discovered === 'string' && URL.canParse(discovered)) {
      const endpoint = publicOrigin === internalOrigin ? discovered : moveOrigin(discovered, BROWSER_FACING.has(key) ? [internalOrigin, publicOrigin] : [publicOrigin, internalOrigin])
      assertAllowedScheme(endpoint, String(metaKey), config.allowHttp)
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

function moveOrigin (endpoint: string, [from, to]: [string, string]): string {
  const url = new URL(endpoint)
  return url.origin === from ? `${to}${url.pathname}${url.search}` : endpoint
}
