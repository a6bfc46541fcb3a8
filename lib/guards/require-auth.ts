import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { RequestContext } from '../context.js'
import { OidcConfigError, OidcForbiddenError, OidcUnauthenticatedError } from '../errors.js'
import type { Runtime } from '../runtime.js'
import type { RequireAuthOptions } from '../types.js'

const SUPPORTED = new Set(['session'])

/** A browser navigation gets a redirect to the login page; an API call gets 401. */
function isBrowserNavigation (request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && (request.headers.accept ?? '').includes('text/html')
}

/**
 * `fastify.requireAuth(options)`: a `preHandler` that lets the request through
 * only for an authenticated caller with every required scope and role and
 * whose claims pass the predicate. The access token is refreshed first when it
 * is about to expire.
 *
 * @example
 * fastify.get('/admin', { preHandler: fastify.requireAuth({ roles: ['admin'] }) }, handler)
 */
export function createRequireAuth (runtime: Runtime) {
  return function requireAuth (options: RequireAuthOptions = {}): preHandlerAsyncHookHandler {
    const accept = options.accept ?? ['session']
    const unsupported = accept.filter((a) => !SUPPORTED.has(a))
    if (unsupported.length > 0 || accept.length === 0) {
      throw new OidcConfigError(`  - requireAuth accept: ${JSON.stringify(accept)} — only 'session' is available in this version`)
    }
    const { scopes = [], roles = [], claims } = options
    const loginPath = `${runtime.config.prefix}/login`

    return async function oidcRequireAuth (request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const context = request.oidc as RequestContext
      const toLogin = async (err: Error): Promise<void> => {
        if (!isBrowserNavigation(request)) throw err
        reply.header('cache-control', 'no-store')
        await reply.redirect(`${loginPath}?returnTo=${encodeURIComponent(request.url)}`, 302)
      }
      if (!await context.load()) return await toLogin(new OidcUnauthenticatedError())
      // Without a refresh token the session stays valid; an expired access token surfaces in accessToken().
      if (context.needsRefresh() && context.canRefresh()) {
        try {
          await context.refresh()
        } catch (err) {
          // The IdP refused the refresh: the session is over, log in again. Other failures (502/504) stand.
          if (!context.isAuthenticated()) return await toLogin(err as Error)
          throw err
        }
      }
      const missingScope = scopes.find((s) => !context.scopes.includes(s))
      if (missingScope !== undefined) throw new OidcForbiddenError('insufficient scope')
      const missingRole = roles.find((r) => !context.roles.includes(r))
      if (missingRole !== undefined) throw new OidcForbiddenError('missing role')
      if (claims !== undefined && !claims(context.user!)) throw new OidcForbiddenError('claims not accepted')
    }
  }
}
