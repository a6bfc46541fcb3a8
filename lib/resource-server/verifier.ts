import type { FastifyBaseLogger } from 'fastify'
import { OidcVerifierUnavailableError } from '../errors.js'
import { BackgroundDiscovery } from '../provider/background-discovery.js'
import { createBearerVerifier } from '../tokens/bearer-verifier.js'
import type { ResolvedResourceServerConfig } from './config.js'
import { resourceServerEndpoints } from './discovery.js'
import type { BearerVerifier } from '../tokens/verified-bearer.js'
import { createDpopProofVerifier, type DpopGuardSettings } from '../tokens/dpop-proof.js'
import { memoryReplayStore } from '../tokens/dpop-replay.js'

/** A resource server's verifier, and how to stop its background discovery. */
export interface ResourceServerVerifier {
  verifier: BearerVerifier
  close: () => void
}

/**
 * The bearer verifier of a resolved resource-server configuration, its JWKS
 * URI and introspection endpoint configured or discovered. An IdP that cannot
 * be reached at start-up (or answers no metadata) does not stop the app: its
 * discovery is retried in the background (single-flight, 1 s doubling up to
 * 30 s) and, until it succeeds, every token is answered 503
 * `FST_OIDC_VERIFIER_UNAVAILABLE` (or `FST_OIDC_PROVIDER_MISCONFIGURED`) with
 * `retryAfter`, without calling the IdP. Metadata that is wrong (another issuer,
 * no `jwks_uri`) fails `register()`.
 */
export async function resourceServerVerifier (config: ResolvedResourceServerConfig, log: FastifyBaseLogger): Promise<ResourceServerVerifier> {
  const discovery = new BackgroundDiscovery({
    name: config.issuer,
    log,
    discover: async () => {
      const { jwksUri, introspectionEndpoint } = await resourceServerEndpoints(config)
      return createBearerVerifier({
        ...config,
        jwksUri,
        introspection: config.introspection === undefined ? undefined : { ...config.introspection, endpoint: introspectionEndpoint! }
      })
    },
    unavailable: () => new OidcVerifierUnavailableError('the identity provider is not reachable yet')
  })
  await discovery.start()
  return {
    verifier: { verify: async (token) => await discovery.current().verify(token) },
    close: () => { discovery.close() }
  }
}

/**
 * What the bearer guard of a resolved resource-server configuration does about
 * DPoP: its mode, and proofs verified with its clock tolerance, their ids claimed
 * in its `replayStore` or else in a bounded in-memory cache of this process.
 */
export function resourceServerDpop (config: Pick<ResolvedResourceServerConfig, 'dpop' | 'clockTolerance' | 'replayStore'>): DpopGuardSettings {
  const replay = config.replayStore ?? memoryReplayStore()
  return { mode: config.dpop, verify: createDpopProofVerifier({ clockTolerance: config.clockTolerance, replay }) }
}
