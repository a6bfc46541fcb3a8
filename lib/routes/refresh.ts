import type { FastifyInstance } from 'fastify'
import type { RequestContext } from '../context.js'
import type { Runtime } from '../runtime.js'
import { assertSameOrigin } from './same-origin.js'

/** `POST /auth/refresh`: refresh-token grant now; 200 `{ expiresAt, user }`, 401 when there is no session or the IdP refuses. */
export function refreshRoute (fastify: FastifyInstance, { config }: Runtime): void {
  fastify.post('/refresh', async (request, reply) => {
    assertSameOrigin(request, config.baseUrl)
    reply.header('cache-control', 'no-store')
    const context = request.oidc as RequestContext
    await context.refresh()
    return { expiresAt: context.expiresAt, user: context.user }
  })
}
