// Row 1: the ceiling — a bare Fastify route, no auth, the same body as the guarded rows.
import Fastify from 'fastify'
import { ROUTE } from '../spec.js'
import { fastifyServer, type BuildServer } from './common.js'

export const build: BuildServer = async (spec) => {
  const app = Fastify({ logger: false })
  const body = { sub: spec.sub }
  app.get(ROUTE, async () => body)
  return fastifyServer(app)
}
