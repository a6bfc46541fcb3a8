import type { FastifyError, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { RequestContext } from '../context.js'
import { OidcConfigError, OidcForbiddenError, OidcStepUpFailedError, OidcUnauthenticatedError, isOidcError } from '../errors.js'
import { oidcErrorHandler, retryAfterOf } from '../routes/error-handler.js'
import type { Runtime } from '../runtime.js'
import type { OidcRequestContext } from '../contract.js'
import type { RequireAuthOptions } from '../options.js'
import { hasBasicCredentials } from '../basic/credentials.js'
import { basicChallenge } from './basic.js'
import { checkStepUp, describeAuthentication, describeRequirement, stepUpChallenge, stepUpKey, stepUpShortfall } from '../tokens/step-up.js'
import { checkScopes, stepUpRequired } from './require-bearer.js'

const SUPPORTED = new Set(['session', 'bearer', 'basic'])
/**
 * Loop guard: a session made by a step-up login for the same requirement less than
 * this long ago (ms) that still falls short gets 403 `FST_OIDC_STEP_UP_FAILED`, not
 * another round trip through the IdP.
 */
const STEP_UP_LOOP_WINDOW = 60_000

/** A browser navigation gets a redirect to the login page; an API call gets 401. */
function isBrowserNavigation (request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && (request.headers.accept ?? '').includes('text/html')
}

/**
 * The `accept` list, checked at set-up: `bearer` needs the plugin's
 * `resourceServer` options (or `OIDC_AUDIENCE`), `basic` its `authenticate`.
 */
function acceptOf (options: RequireAuthOptions, runtime: Runtime): Set<string> {
  const accept = options.accept ?? ['session']
  const unsupported = accept.filter((a) => !SUPPORTED.has(a))
  if (unsupported.length > 0 || accept.length === 0) {
    throw new OidcConfigError(`  - requireAuth accept: ${JSON.stringify(accept)} — expected some of 'session', 'bearer', 'basic'`)
  }
  if (accept.includes('bearer') && runtime.bearer === undefined) {
    throw new OidcConfigError('  - requireAuth accept: \'bearer\' needs the resourceServer option (or OIDC_AUDIENCE) of fastify-oidc')
  }
  if (accept.includes('basic') && runtime.basic === undefined) {
    throw new OidcConfigError('  - requireAuth accept: \'basic\' needs the authenticate option of fastify-oidc')
  }
  return new Set(accept)
}

/**
 * `fastify.requireAuth(options)`: a `preHandler` that lets the request through
 * only for an authenticated caller with every required scope and role and
 * whose claims pass the predicate.
 *
 * With `accept: ['session']` (the default) the caller is the session's user and
 * the access token is refreshed first when it is about to expire. With
 * `'bearer'`, a request carrying `Authorization: Bearer` is judged by its token
 * alone (RFC 6750 answers: 401 `invalid_token`, 403 `insufficient_scope`, 400
 * `invalid_request`, 503 when keys or introspection are unreachable), whatever
 * session cookie it also has.
 *
 * Step-up (`acr`, `maxAge`): a session whose ID token's `acr` is not accepted or
 * whose `auth_time` is too old is sent through login again with `acr_values` /
 * `max_age` (a browser navigation; once: a step-up login that still falls short is
 * 403 `FST_OIDC_STEP_UP_FAILED`), or answered 401 `FST_OIDC_STEP_UP_REQUIRED` with
 * the RFC 9470 challenge. A bearer token is judged on its own `acr` / `auth_time`;
 * a Basic caller authenticates with the request itself (`maxAge` is met) and its
 * `acr` is the one its `authenticate` result's claims carry.
 *
 * @example
 * fastify.get('/admin', { preHandler: fastify.requireAuth({ roles: ['admin'] }) }, handler)
 * fastify.get('/api/orders', { preHandler: fastify.requireAuth({ accept: ['session', 'bearer'], scopes: ['orders:read'] }) }, handler)
 * fastify.get('/payments', { preHandler: fastify.requireAuth({ acr: ['urn:example:mfa'], maxAge: 300 }) }, handler)
 */
export function createRequireAuth (runtime: Runtime) {
  return function requireAuth (options: RequireAuthOptions = {}): preHandlerAsyncHookHandler {
    const accept = acceptOf(options, runtime)
    const scopes = checkScopes(options.scopes ?? [], 'requireAuth')
    const stepUp = checkStepUp(options, 'requireAuth')
    const stepUpParams = stepUp === undefined
      ? ''
      : `&${new URLSearchParams({ ...(stepUp.acr === undefined ? {} : { acr_values: stepUp.acr.join(' ') }), ...(stepUp.maxAge === undefined ? {} : { max_age: String(stepUp.maxAge) }) }).toString()}`
    const { roles = [], claims } = options
    const loginPath = `${runtime.config.prefix}/login`
    const bearer = accept.has('bearer') ? runtime.bearer : undefined
    const basic = accept.has('basic') ? runtime.basic : undefined
    const challenges = [
      ...(bearer === undefined ? [] : [`Bearer realm="${bearer.realm}"`]),
      ...(basic === undefined ? [] : [basicChallenge(basic.realm)])
    ]

    /** Roles and the claims predicate, whichever way the caller authenticated. */
    const authorize = (caller: OidcRequestContext): void => {
      if (caller.via === 'basic' && scopes.length > 0) throw new OidcForbiddenError('insufficient scope')
      const missingRole = roles.find((r) => !caller.roles.includes(r))
      if (missingRole !== undefined) throw new OidcForbiddenError('missing role')
      if (claims !== undefined && !claims(caller.user!)) throw new OidcForbiddenError('claims not accepted')
    }

    /** Login again, back to this URL, asking for the step-up (at the session's provider). */
    const loginUrl = (request: FastifyRequest, provider?: string): string =>
      `${loginPath}?returnTo=${encodeURIComponent(request.url)}${stepUpParams}${provider === undefined || provider === runtime.client.name ? '' : `&provider=${encodeURIComponent(provider)}`}`

    /** The step-up of a signed-in session: a browser goes through login (once), anything else gets 401 and the RFC 9470 challenge. */
    const stepUpSession = async (request: FastifyRequest, reply: FastifyReply, context: RequestContext): Promise<void> => {
      const { claims: user, provider, stepUp: last } = context.payload!
      const shortfall = stepUpShortfall(user, stepUp!, runtime.config.clockTolerance)
      if (shortfall === undefined) return
      if (!isBrowserNavigation(request)) {
        reply.header('www-authenticate', stepUpChallenge(stepUp!, shortfall))
        throw stepUpRequired(stepUp!, shortfall)
      }
      // The login just made for this very requirement still falls short: say so rather than loop through the IdP.
      if (last !== undefined && last.key === stepUpKey(stepUp!) && Date.now() - last.at < STEP_UP_LOOP_WINDOW) {
        throw new OidcStepUpFailedError(describeRequirement(stepUp!), describeAuthentication(user))
      }
      reply.header('cache-control', 'no-store')
      await reply.redirect(loginUrl(request, provider), 302)
    }

    /**
     * A refusal: an HTML page (the plugin routes' own, escaped) to a browser asking for one,
     * else the error goes to the app's error handler (JSON) as before. `Retry-After` either way.
     */
    const guard = async function oidcRequireAuth (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      try {
        await check(request, reply)
        return undefined
      } catch (err) {
        if (!isOidcError(err) || !(request.headers.accept ?? '').includes('text/html')) throw err
        const seconds = retryAfterOf(err)
        if (seconds !== undefined) reply.header('retry-after', String(seconds))
        return oidcErrorHandler(err as FastifyError, request, reply)
      }
    }

    const check = async function check (request: FastifyRequest, reply: FastifyReply): Promise<void> {
      if (basic !== undefined && hasBasicCredentials(request)) {
        const caller = await basic.authenticate(request, reply)
        authorize(caller)
        // Authenticated by this very request: its auth_time is now.
        const shortfall = stepUp === undefined ? undefined : stepUpShortfall({ auth_time: Date.now() / 1000, ...caller.user }, stepUp, runtime.config.clockTolerance)
        if (shortfall !== undefined) {
          reply.header('www-authenticate', stepUpChallenge(stepUp!, shortfall))
          throw stepUpRequired(stepUp!, shortfall)
        }
        return
      }
      if (bearer !== undefined) {
        const caller = await bearer.authenticate(request, reply, scopes, stepUp)
        if (caller !== undefined) return authorize(caller)
      }
      const context = request.oidc as RequestContext
      const unauthenticated = async (err: Error): Promise<void> => {
        if (!accept.has('session') || !isBrowserNavigation(request)) {
          if (challenges.length > 0) reply.header('www-authenticate', challenges)
          if (basic !== undefined) runtime.audit(request, 'basic_auth_failure', { reason: 'missing' })
          throw err
        }
        reply.header('cache-control', 'no-store')
        await reply.redirect(loginUrl(request), 302)
      }
      if (!accept.has('session') || !await context.load()) return await unauthenticated(new OidcUnauthenticatedError())
      // Without a refresh token the session stays valid; an expired access token surfaces in accessToken().
      if (context.needsRefresh() && context.canRefresh()) {
        try {
          await context.refresh()
        } catch (err) {
          // The IdP refused the refresh: the session is over, log in again. Other failures (502/504) stand.
          if (!context.isAuthenticated()) return await unauthenticated(err as Error)
          throw err
        }
      }
      const missingScope = scopes.find((s) => !context.scopes.includes(s))
      if (missingScope !== undefined) throw new OidcForbiddenError('insufficient scope')
      authorize(context)
      if (stepUp !== undefined) await stepUpSession(request, reply, context)
    }
    return guard as preHandlerAsyncHookHandler
  }
}
