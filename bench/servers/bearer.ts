// Rows 7, 7c and 8: fastify-oidc's resource server, `requireBearer` on a JWT access
// token (RS256 or ES256), keys from the JWKS served by the orchestrator; rows 7
// and 8 without the cache of verified tokens, 7c with it (its default).
import Fastify from 'fastify'
import { oidcResourceServer } from '../../lib/index.js'
import { ROUTE } from '../spec.js'
import { fastifyServer, required, type BuildServer } from './common.js'

export const build: BuildServer = async (spec) => {
  const app = Fastify({ logger: false })
  await app.register(oidcResourceServer, {
    issuer: required(spec, 'tokenIssuer'),
    audience: required(spec, 'audience'),
    jwksUri: required(spec, 'jwksUri'),
    ...(spec.verifiedTokenCacheTtl === undefined ? {} : { verifiedTokenCacheTtl: spec.verifiedTokenCacheTtl }),
    env: {}
  })
  app.get(ROUTE, { preHandler: app.requireBearer() }, async (request) => ({ sub: request.oidc.user!.sub }))
  return fastifyServer(app)
}
