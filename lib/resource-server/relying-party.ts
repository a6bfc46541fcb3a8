import type { FastifyInstance } from 'fastify'
import type { ResolvedConfig } from '../config.js'
import { OidcConfigError } from '../errors.js'
import { createBearerAuthenticator } from '../guards/require-bearer.js'
import type { Discovered } from '../provider/connection.js'
import type { FastifyOidcOptions } from '../options.js'
import { resolveResourceServerConfig } from './config.js'
import type { BearerAuthenticator } from './context.js'
import type { ReplayStore } from '../tokens/dpop-replay.js'
import { resourceServerDpop, resourceServerVerifier } from './verifier.js'

/** What `requireAuth({ accept: ['bearer'] })` uses in the relying-party plugin. */
export interface RelyingPartyBearer {
  realm: string
  authenticate: BearerAuthenticator
}

/** The relying party's settings about its own provider: not for a resource server of another issuer. */
const OWN_PROVIDER_VARS = ['OIDC_DISCOVERY_URL', 'OIDC_JWKS_URI', 'OIDC_INTROSPECTION_ENDPOINT', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET']

/**
 * Bearer tokens in the relying-party plugin, when its `resourceServer` option
 * (or `OIDC_AUDIENCE`) is given: the same verifier as `oidcResourceServer`,
 * against the plugin's own provider — issuer, discovery URL, the JWKS already
 * discovered, time-out, clock tolerance, http policy and roles claim are the
 * plugin's unless `resourceServer` says otherwise. A `resourceServer.issuer`
 * other than the plugin's gets none of the plugin's provider settings (its
 * discovery URL, JWKS URI, introspection endpoint and client credentials,
 * options or env vars): its endpoints are discovered from that issuer. An
 * audience equal to the plugin's client id (the `aud` of its ID tokens) is
 * refused with `FST_OIDC_CONFIG_INVALID`. DPoP follows `resourceServer.dpop` (the
 * plugin's own `OIDC_DPOP` is the relying party's), proof ids claimed once in the
 * session store when it is shared (`claimOnce`). A verified caller's token is relayed
 * by `request.oidc.fetch` to the plugin's downstreams only.
 */
export async function relyingPartyBearer (fastify: FastifyInstance, config: ResolvedConfig, discovered: Discovered | undefined, options: FastifyOidcOptions, claimOnce?: ReplayStore['claimOnce']): Promise<RelyingPartyBearer | undefined> {
  const env = options.env ?? process.env
  const own = options.resourceServer ?? (env['OIDC_AUDIENCE'] === undefined ? undefined : {})
  if (own === undefined) return undefined
  const sameProvider = own.issuer === undefined || own.issuer === config.issuer
  const typ = sameProvider ? config.providers[0]!.accessTokenTyp : undefined
  const rsConfig = resolveResourceServerConfig({
    issuer: config.issuer,
    ...(sameProvider ? { discoveryUrl: config.discoveryUrl, jwksUri: discovered?.info.endpoints.jwks } : {}),
    // A preset's access tokens typed JWT (Keycloak, Entra ID), unless OIDC_ACCESS_TOKEN_TYPES says otherwise.
    ...(typ === undefined || env['OIDC_ACCESS_TOKEN_TYPES'] !== undefined ? {} : { accessTokenTypes: ['at+jwt', 'application/at+jwt', typ] }),
    httpTimeout: config.httpTimeout,
    clockTolerance: config.clockTolerance,
    allowHttp: config.allowHttp,
    rolesClaim: config.rolesClaim,
    // DPoP proof ids in the session store when it is shared by instances (Redis), unless resourceServer.replayStore says otherwise.
    ...(claimOnce === undefined ? {} : { replayStore: { claimOnce } }),
    // OIDC_DPOP is the relying party's own (true / false: its tokens bound to a key); resourceServer.dpop is this one's.
    env: { ...env, OIDC_DPOP: undefined, ...(sameProvider ? {} : Object.fromEntries(OWN_PROVIDER_VARS.map((name) => [name, undefined]))) },
    ...own
  })
  if (rsConfig.audiences.includes(config.clientId)) {
    throw new OidcConfigError('  - OIDC_AUDIENCE: must not be the relying party\'s client id (the aud of its ID tokens, which are no access tokens)')
  }
  // The provider not reachable at start-up: the keys' URL is discovered in the background (503 until then).
  const { verifier, close } = await resourceServerVerifier(rsConfig, fastify.log)
  fastify.addHook('onClose', async () => { close() })
  return {
    realm: rsConfig.realm,
    authenticate: createBearerAuthenticator(verifier, { ...rsConfig, dpop: resourceServerDpop(rsConfig), forwarding: { downstreams: config.downstreams } })
  }
}
