import type { FastifyInstance } from 'fastify'
import type { RequestContext } from '../context.js'

/** `GET /auth/session`: `{ authenticated, user, expiresAt }`; never a token. */
export function sessionRoute (fastify: FastifyInstance): void {
  fastify.get('/session', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    const context = request.oidc as RequestContext
    const authenticated = await context.load()
    return { authenticated, user: context.user, expiresAt: context.expiresAt }
  })
}
