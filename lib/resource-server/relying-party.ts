import type { ResolvedConfig } from '../config.js'
import { createBearerAuthenticator, type BearerAuthenticator } from '../guards/require-bearer.js'
import type { ProviderInfo } from '../provider/discovery.js'
import type { FastifyOidcOptions } from '../types.js'
import { resolveResourceServerConfig } from './config.js'
import { resourceServerVerifier } from './verifier.js'

/** What `requireAuth({ accept: ['bearer'] })` uses in the relying-party plugin. */
export interface RelyingPartyBearer {
  realm: string
  authenticate: BearerAuthenticator
}

/**
 * Bearer tokens in the relying-party plugin, when its `resourceServer` option
 * (or `OIDC_AUDIENCE`) is given: the same verifier as `oidcResourceServer`,
 * against the plugin's own provider — issuer, discovery URL, the JWKS already
 * discovered, time-out, clock tolerance, http policy and roles claim are the
 * plugin's unless `resourceServer` says otherwise. A verified caller's token is
 * relayed by `request.oidc.fetch` to the plugin's downstreams only.
 */
export async function relyingPartyBearer (config: ResolvedConfig, info: ProviderInfo, options: FastifyOidcOptions): Promise<RelyingPartyBearer | undefined> {
  const env = options.env ?? process.env
  const own = options.resourceServer ?? (env['OIDC_AUDIENCE'] === undefined ? undefined : {})
  if (own === undefined) return undefined
  const rsConfig = resolveResourceServerConfig({
    issuer: config.issuer,
    discoveryUrl: config.discoveryUrl,
    jwksUri: info.endpoints.jwks,
    httpTimeout: config.httpTimeout,
    clockTolerance: config.clockTolerance,
    allowHttp: config.allowHttp,
    rolesClaim: config.rolesClaim,
    env,
    ...own
  })
  const verifier = await resourceServerVerifier(rsConfig)
  return {
    realm: rsConfig.realm,
    authenticate: createBearerAuthenticator(verifier, { ...rsConfig, forwarding: { downstreams: config.downstreams } })
  }
}
