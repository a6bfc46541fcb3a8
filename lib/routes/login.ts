import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OidcUnknownProviderError } from '../errors.js'
import { reasonOf } from '../idp-errors.js'
import type { RequestContext } from '../context.js'
import type { Runtime } from '../runtime.js'
import type { AuthorizeParams } from '../provider/types.js'
import { baseHostGuard } from './base-host.js'

/** The query of `/auth/login`. */
interface LoginQuery {
  returnTo?: unknown
  provider?: unknown
  acr_values?: unknown
  max_age?: unknown
}

/**
 * The login's parameters: where to return, and a step-up (`acr_values`, `max_age`) when asked
 * for. A step-up of a signed-in user at that provider must come back for the same user.
 */
function authorizeParams (request: FastifyRequest<{ Querystring: LoginQuery }>, provider: string): AuthorizeParams {
  const { returnTo, acr_values: acrValues, max_age: maxAge } = request.query
  const extra = {
    ...(typeof acrValues === 'string' ? { acr_values: acrValues } : {}),
    ...(typeof maxAge === 'string' ? { max_age: maxAge } : {})
  }
  const session = (request.oidc as RequestContext).payload
  const subject = Object.keys(extra).length > 0 && session?.provider === provider ? session.claims.sub : undefined
  return { ...(typeof returnTo === 'string' ? { returnTo } : {}), extra, ...(subject === undefined ? {} : { subject }) }
}

/**
 * `GET /auth/login?returnTo=&provider=&acr_values=&max_age=`: starts a login at the named provider
 * (default: the first); writes nothing to the session store. `acr_values` / `max_age`
 * (what `requireAuth`'s step-up sends) are asked of the IdP and checked at the callback
 * (the ID token's `acr` among them, its `auth_time` within `max_age`); asked by a
 * signed-in user, the login must come back for that user. 400 for an
 * unknown provider; 503 with `Retry-After` while its IdP has not been reached
 * (audited as `login_failure`, reason `provider_unavailable`, or
 * `provider_misconfigured` when its metadata URL answers something else);
 * with PAR, 502 / 504 when the push fails (reason `par_rejected`, `par_error`,
 * `idp_unreachable`, `idp_timeout`).
 * Reached under another loopback name than the base URL's: 302 to the same
 * path and query on the base URL first (see `baseHostGuard`).
 */
export function loginRoute (fastify: FastifyInstance, { client, providers, audit, config }: Runtime): void {
  const onBaseHost = baseHostGuard(config.baseUrl, fastify.log)
  fastify.get<{ Querystring: LoginQuery }>('/login', async (request, reply) => {
    // Started on 127.0.0.1 while the base URL says localhost: go there first, or the callback cannot match the state.
    const first = onBaseHost(request)
    if (first !== undefined) return await reply.header('cache-control', 'no-store').redirect(first, 302)
    const { provider } = request.query
    const chosen = provider === undefined ? client : typeof provider === 'string' ? providers.get(provider)?.client : undefined
    if (chosen === undefined) {
      // Only a plain name is echoed: nothing a link's author wrote can reach a page as markup.
      const name = typeof provider !== 'string' ? 'several values' : /^[\w.-]{1,40}$/.test(provider) ? provider : 'not a provider name'
      throw new OidcUnknownProviderError(name)
    }
    try {
      return await chosen.authorizeRedirect(request, reply, authorizeParams(request, chosen.name))
    } catch (err) {
      // A provider not discovered yet (provider_unavailable / provider_misconfigured), or a pushed request refused (par_*).
      const reason = reasonOf(err, '')
      if (reason !== '') audit(request, 'login_failure', { provider: chosen.name, reason })
      throw err
    }
  })
}
