/**
 * `fastify-oidc/resource-server`: the second entry point, for a service that
 * only verifies bearer access tokens. Its import graph holds none of the
 * relying party's session, login or cookie code (checked by `npm run depcruise`).
 *
 * @example
 * import oidcResourceServer from 'fastify-oidc/resource-server'
 * await fastify.register(oidcResourceServer, { issuer: 'https://idp.example.com', audience: 'reviews' })
 * fastify.get('/reviews', { preHandler: fastify.requireBearer({ scopes: ['reviews:read'] }) }, handler)
 */
import { oidcResourceServer } from './plugin.js'

export default oidcResourceServer
export { oidcResourceServer }
export { resolveResourceServerConfig } from './config.js'
export * from '../errors.js'
export type { OidcClaims, OidcRequestContext } from '../contract.js'
export type { BearerVerifier, OidcResourceServerOptions, ReplayStore, RequireBearerOptions, VerifiedBearer } from './types.js'
