import type { FastifyInstance } from 'fastify'
import { OidcUnknownProviderError } from '../errors.js'
import { reasonOf } from '../idp-errors.js'
import type { Runtime } from '../runtime.js'
import { baseHostGuard } from './base-host.js'

const PROVIDER_REFUSALS = new Set<string | undefined>(['FST_OIDC_PROVIDER_UNAVAILABLE', 'FST_OIDC_PROVIDER_MISCONFIGURED'])

/**
 * `GET /auth/login?returnTo=&provider=`: starts a login at the named provider
 * (default: the first); writes nothing to the session store. 400 for an
 * unknown provider; 503 with `Retry-After` while its IdP has not been reached
 * (audited as `login_failure`, reason `provider_unavailable`, or
 * `provider_misconfigured` when its metadata URL answers something else).
 * Reached under another loopback name than the base URL's: 302 to the same
 * path and query on the base URL first (see `baseHostGuard`).
 */
export function loginRoute (fastify: FastifyInstance, { client, providers, audit, config }: Runtime): void {
  const onBaseHost = baseHostGuard(config.baseUrl, fastify.log)
  fastify.get<{ Querystring: { returnTo?: unknown, provider?: unknown } }>('/login', async (request, reply) => {
    // Started on 127.0.0.1 while the base URL says localhost: go there first, or the callback cannot match the state.
    const first = onBaseHost(request)
    if (first !== undefined) return await reply.header('cache-control', 'no-store').redirect(first, 302)
    const { provider, returnTo } = request.query
    const chosen = provider === undefined ? client : typeof provider === 'string' ? providers.get(provider)?.client : undefined
    if (chosen === undefined) {
      // Only a plain name is echoed: nothing a link's author wrote can reach a page as markup.
      const name = typeof provider !== 'string' ? 'several values' : /^[\w.-]{1,40}$/.test(provider) ? provider : 'not a provider name'
      throw new OidcUnknownProviderError(name)
    }
    try {
      return await chosen.authorizeRedirect(request, reply, typeof returnTo === 'string' ? { returnTo } : {})
    } catch (err) {
      // A provider not discovered yet: the login could not start (reason provider_unavailable / provider_misconfigured).
      if (PROVIDER_REFUSALS.has((err as { code?: string }).code)) audit(request, 'login_failure', { provider: chosen.name, reason: reasonOf(err, 'provider_unavailable') })
      throw err
    }
  })
}
