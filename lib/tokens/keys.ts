import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'
import { isAsymmetricAlg } from '../settings.js'
import type { ProviderMetadata } from '../provider/discovery.js'
import type { ResolvedProvider } from '../provider/provider-config.js'

/** ID-token algorithms: the configured list, else the IdP's asymmetric ones, else RS256. Never `none`. */
export function idTokenAlgorithms (provider: Pick<ResolvedProvider, 'idTokenSigningAlgs'>, metadata: ProviderMetadata): string[] {
  if (provider.idTokenSigningAlgs !== undefined) return provider.idTokenSigningAlgs
  const advertised = (metadata.id_token_signing_alg_values_supported ?? []).filter(isAsymmetricAlg)
  return advertised.length > 0 ? advertised : ['RS256']
}

/** A provider's key source, and how to refetch its JWKS on schedule. */
export interface IdTokenKeys {
  keys: JWTVerifyGetKey
  /** Refetches the JWKS; on failure the last good copy stays in use (and the promise rejects). */
  reload (): Promise<void>
}

/**
 * Where ID-token keys come from: the provider's JWKS — fetched at first use,
 * then refetched by `reload()` on the metadata schedule (a failed refetch keeps
 * the last good copy), and for an unknown `kid` at most every 30 s — plus the
 * client secret for HMAC algorithms, only when those are explicitly configured.
 */
export function idTokenKeys (provider: Pick<ResolvedProvider, 'clientSecret' | 'idTokenSigningAlgs'>, jwksUri: string, httpTimeout: number): IdTokenKeys {
  // Never stale by age: the schedule refreshes it, so an IdP outage does not make good keys unusable.
  const jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: httpTimeout, cooldownDuration: 30_000, cacheMaxAge: Infinity })
  const reload = async (): Promise<void> => { await jwks.reload() }
  if (provider.clientSecret === undefined || !(provider.idTokenSigningAlgs ?? []).some((alg) => alg.startsWith('HS'))) return { keys: jwks, reload }
  const secret = new TextEncoder().encode(provider.clientSecret)
  return { keys: async (header, token) => header.alg?.startsWith('HS') === true ? secret : await jwks(header, token), reload }
}
