import type { FastifyInstance } from 'fastify'
import { OidcUnknownProviderError } from '../errors.js'
import type { Runtime } from '../runtime.js'

/** `GET /auth/login?returnTo=&provider=`: starts a login; writes nothing to the session store. */
export function loginRoute (fastify: FastifyInstance, { client }: Runtime): void {
  fastify.get<{ Querystring: { returnTo?: unknown, provider?: unknown } }>('/login', async (request, reply) => {
    const { provider, returnTo } = request.query
    if (provider !== undefined && provider !== client.name) {
      // Only a plain name is echoed: nothing a link's author wrote can reach a page as markup.
      const name = typeof provider !== 'string' ? 'several values' : /^[\w.-]{1,40}$/.test(provider) ? provider : 'not a provider name'
      throw new OidcUnknownProviderError(name)
    }
    return await client.authorizeRedirect(request, reply, typeof returnTo === 'string' ? { returnTo } : {})
  })
}
