import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { createBearerAuthenticator, createRequireBearer } from '../guards/require-bearer.js'
import { resolveResourceServerConfig } from './config.js'
import { anonymousBearer } from './context.js'
import type { OidcResourceServerOptions } from './types.js'
import { resourceServerDpop, resourceServerVerifier } from './verifier.js'

const plugin: FastifyPluginAsync<OidcResourceServerOptions> = async function oidcResourceServer (fastify: FastifyInstance, options) {
  const config = resolveResourceServerConfig(options)
  const { verifier, close } = await resourceServerVerifier(config, fastify.log)
  fastify.addHook('onClose', async () => { close() })
  const authenticate = createBearerAuthenticator(verifier, { ...config, dpop: resourceServerDpop(config) })
  fastify.decorate('requireBearer', createRequireBearer(authenticate, config.realm, config.dpop))
  // Registered after the relying-party plugin, request.oidc stays its session context
  // until requireBearer succeeds on a route (the guard then shadows it for that request).
  if (!fastify.hasRequestDecorator('oidc')) fastify.decorateRequest('oidc', { getter: () => anonymousBearer })
}

/**
 * The resource-server plugin: verifies bearer access tokens (RFC 9068 JWTs via
 * the issuer's JWKS, opaque tokens via RFC 7662 introspection) and answers
 * RFC 6750 errors. Decorates `fastify.requireBearer(options)` and `request.oidc`.
 */
export const oidcResourceServer = fp(plugin, { fastify: '5.x', name: 'fastify-oidc-resource-server' })
