import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'
import { isAsymmetricAlg, type ResolvedConfig } from '../config.js'
import type { ProviderMetadata } from '../provider/discovery.js'

/** ID-token algorithms: the configured list, else the IdP's asymmetric ones, else RS256. Never `none`. */
export function idTokenAlgorithms (config: ResolvedConfig, metadata: ProviderMetadata): string[] {
  if (config.idTokenSigningAlgs !== undefined) return config.idTokenSigningAlgs
  const advertised = (metadata.id_token_signing_alg_values_supported ?? []).filter(isAsymmetricAlg)
  return advertised.length > 0 ? advertised : ['RS256']
}

/**
 * Where ID-token keys come from: the provider's JWKS (cached for 10 minutes; an
 * unknown `kid` refetches it at most every 30 s), plus the client secret for
 * HMAC algorithms — only when those are explicitly configured.
 */
export function idTokenKeys (config: ResolvedConfig, jwksUri: string): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(jwksUri), {
    timeoutDuration: config.httpTimeout,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000
  })
  if (config.clientSecret === undefined || !(config.idTokenSigningAlgs ?? []).some((alg) => alg.startsWith('HS'))) return jwks
  const secret = new TextEncoder().encode(config.clientSecret)
  return async (header, token) => header.alg?.startsWith('HS') === true ? secret : await jwks(header, token)
}
