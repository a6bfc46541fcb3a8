import { createBearerVerifier } from '../tokens/bearer-verifier.js'
import type { ResolvedResourceServerConfig } from './config.js'
import { resourceServerEndpoints } from './discovery.js'
import type { BearerVerifier } from './types.js'

/**
 * The bearer verifier of a resolved resource-server configuration, its JWKS
 * URI and introspection endpoint configured or discovered (at register).
 */
export async function resourceServerVerifier (config: ResolvedResourceServerConfig): Promise<BearerVerifier> {
  const { jwksUri, introspectionEndpoint } = await resourceServerEndpoints(config)
  return createBearerVerifier({
    ...config,
    jwksUri,
    introspection: config.introspection === undefined ? undefined : { ...config.introspection, endpoint: introspectionEndpoint! }
  })
}
