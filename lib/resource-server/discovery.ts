import { isLoopbackHost } from '../settings.js'
import { OidcDiscoveryError } from '../errors.js'
import { fetchFailure, httpStatusFailure, notMetadataFailure } from '../provider/discovery-failure.js'
import { discoveryDocumentUrl, swapOrigin } from '../provider/endpoint-url.js'
import type { ResolvedResourceServerConfig } from './config.js'

/** The endpoints a resource server calls. */
export interface ResourceServerEndpoints {
  jwksUri: string
  /** Set when introspection is on. */
  introspectionEndpoint: string | undefined
}

/**
 * The JWKS URI and (when introspection is on) the introspection endpoint:
 * configured ones as they are, the others from the issuer's metadata at
 * `discoveryUrl` (with the HTTP time-out; its `issuer` must be the configured
 * one). Both are called server-side: a discovered endpoint on the public
 * issuer's origin is moved to the discovery URL's origin. Throws
 * `FST_OIDC_DISCOVERY_FAILED` when the metadata cannot be had (with the URL,
 * the cause and the reason `provider_unavailable` or `provider_misconfigured`)
 * or is wrong (another issuer, an endpoint missing or not https: no reason).
 */
export async function resourceServerEndpoints (config: ResolvedResourceServerConfig): Promise<ResourceServerEndpoints> {
  const introspection = config.introspection
  if (config.jwksUri !== undefined && (introspection === undefined || introspection.endpoint !== undefined)) {
    return { jwksUri: config.jwksUri, introspectionEndpoint: introspection?.endpoint }
  }
  const metadata = await fetchMetadata(config)
  return {
    jwksUri: config.jwksUri ?? endpointFrom(config, metadata, 'jwks_uri'),
    introspectionEndpoint: introspection === undefined ? undefined : introspection.endpoint ?? endpointFrom(config, metadata, 'introspection_endpoint')
  }
}

async function fetchMetadata (config: ResolvedResourceServerConfig): Promise<Record<string, unknown>> {
  const url = discoveryDocumentUrl(config.discoveryUrl)
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(config.httpTimeout), headers: { accept: 'application/json' }, redirect: 'error' })
  } catch (err) {
    throw fetchFailure(err, url, config.httpTimeout)
  }
  if (!response.ok) throw httpStatusFailure(url, response.status)
  const metadata = await response.json().catch(() => undefined) as Record<string, unknown> | null | undefined
  if (typeof metadata?.['issuer'] !== 'string') throw notMetadataFailure(url)
  if (metadata['issuer'] !== config.issuer) {
    throw new OidcDiscoveryError(`${url} is not the metadata of the configured issuer ${JSON.stringify(config.issuer)} (it names ${JSON.stringify(metadata['issuer'].slice(0, 100))})`)
  }
  return metadata
}

function endpointFrom (config: ResolvedResourceServerConfig, metadata: Record<string, unknown>, key: string): string {
  const value = metadata[key]
  if (typeof value !== 'string' || !URL.canParse(value)) throw new OidcDiscoveryError(`the metadata has no ${key} and none is configured`)
  const url = new URL(swapOrigin(value, new URL(config.issuer).origin, new URL(config.discoveryUrl).origin))
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (config.allowHttp || isLoopbackHost(url.hostname)))) {
    throw new OidcDiscoveryError(`the metadata ${key} is not an https URL (http is only accepted for loopback hosts unless OIDC_ALLOW_HTTP=true)`)
  }
  return url.href
}
