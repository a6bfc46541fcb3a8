// Rows 3 and 4: fastify-oidc's requireAuth on a session made by a real login
// through the dev IdP; row 3 with the memory store, row 4 with `sessionStore:
// 'redis://…'` (refused at register until the Redis store lands: the row is then skipped).
import Fastify from 'fastify'
import fastifyOidc, { type FastifyOidcOptions } from '../../lib/index.js'
import { ROUTE, SCOPE } from '../spec.js'
import { fastifyServer, HOST, required, type BuildServer } from './common.js'

export const build: BuildServer = async (spec) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyOidc, {
    issuer: required(spec, 'issuer'),
    clientId: required(spec, 'clientId'),
    clientSecret: required(spec, 'clientSecret'),
    baseUrl: `http://${HOST}:${spec.port}`,
    sessionSecret: required(spec, 'sessionSecret'),
    scope: SCOPE,
    // A URL string until the option's type names it (the Redis store is being written).
    sessionStore: (spec.sessionStore ?? 'memory') as FastifyOidcOptions['sessionStore'],
    env: {}
  })
  app.get(ROUTE, { preHandler: app.requireAuth() }, async (request) => ({ sub: request.oidc.user!.sub }))
  await app.ready()
  return fastifyServer(app)
}
