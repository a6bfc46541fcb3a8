// Row 9: the peer for APIs — fastify-jwt-jwks (@fastify/jwt, fast-jwt) verifying
// the same RS256 token, keys from the same JWKS. Its defaults: keys cached, no
// cache of verified tokens.
import Fastify from 'fastify'
import { fastifyJwtJwks } from 'fastify-jwt-jwks'
import { ROUTE } from '../spec.js'
import { fastifyServer, required, type BuildServer } from './common.js'

export const build: BuildServer = async (spec) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyJwtJwks, {
    jwksUrl: required(spec, 'jwksUri'),
    issuer: required(spec, 'tokenIssuer'),
    audience: required(spec, 'audience')
  })
  app.get(ROUTE, { preValidation: app.authenticate }, async (request) => ({ sub: (request.user as { sub: string }).sub }))
  return fastifyServer(app)
}
