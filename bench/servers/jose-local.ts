// Row 10: the verification floor — `jose.jwtVerify` against a local JWKS
// (createLocalJWKSet: keys imported once), the same checks a resource server
// makes (alg, typ, iss, aud, exp), nothing else.
import Fastify from 'fastify'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { ROUTE } from '../spec.js'
import { fastifyServer, required, type BuildServer } from './common.js'

export const build: BuildServer = async (spec) => {
  const keys = createLocalJWKSet(required(spec, 'jwks'))
  const options = { issuer: required(spec, 'tokenIssuer'), audience: required(spec, 'audience'), algorithms: ['RS256'], typ: 'at+jwt' }
  const app = Fastify({ logger: false })
  app.get(ROUTE, async (request, reply) => {
    const header = request.headers.authorization
    try {
      if (header === undefined || !header.startsWith('Bearer ')) throw new Error('no token')
      const { payload } = await jwtVerify(header.slice(7), keys, options)
      return { sub: payload.sub }
    } catch {
      return await reply.code(401).send({ error: 'Unauthorized' })
    }
  })
  return fastifyServer(app)
}
