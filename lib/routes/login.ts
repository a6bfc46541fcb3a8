import type { FastifyInstance } from 'fastify'
import { OidcUnknownProviderError } from '../errors.js'
import type { Runtime } from '../runtime.js'

/**
 * `GET /auth/login?returnTo=&provider=`: starts a login at the named provider
 * (default: the first); writes nothing to the session store. 400 for an
 * unknown provider; 503 with `Retry-After` while its IdP has not been reached.
 */
export function loginRoute (fastify: FastifyInstance, { client, providers }: Runtime): void {
  fastify.get<{ Querystring: { returnTo?: unknown, provider?: unknown } }>('/login', async (request, reply) => {
    const { provider, returnTo } = request.query
    const chosen = provider === undefined ? client : typeof provider === 'string' ? providers.get(provider)?.client : undefined
    if (chosen === undefined) {
      // Only a plain name is echoed: nothing a link's author wrote can reach a page as markup.
      const name = typeof provider !== 'string' ? 'several values' : /^[\w.-]{1,40}$/.test(provider) ? provider : 'not a provider name'
      throw new OidcUnknownProviderError(name)
    }
    return await chosen.authorizeRedirect(request, reply, typeof returnTo === 'string' ? { returnTo } : {})
  })
}
