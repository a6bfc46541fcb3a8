import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OidcInsecureTransportError } from '../errors.js'
import { reasonOf, withReason } from '../idp-errors.js'
import type { RetryLogin } from '../session/transaction.js'
import type { Runtime } from '../runtime.js'

/**
 * The callback's query string carries the authorization code and the state:
 * its request log line keeps the path only (otherwise as Fastify's default).
 */
const logSerializers = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: request.url.includes('?') ? `${request.url.slice(0, request.url.indexOf('?'))}?[redacted]` : request.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  })
}

/** `/auth/login` again, to the same `returnTo` at the same provider. */
function freshLogin (prefix: string, { returnTo, provider }: RetryLogin, defaultProvider: string): string {
  const query = new URLSearchParams({ returnTo, ...(provider === defaultProvider ? {} : { provider }) })
  return `${prefix}/login?${query.toString()}`
}

/**
 * `GET /auth/callback` (the default provider's) and `GET /auth/callback/<name>`
 * (each other provider's): completes the login — only a login started at that
 * provider (mix-up defence). On success the session id is regenerated
 * (fixation defence) and the sealed token set stored; on failure nothing is
 * stored and a `login_failure` event says why.
 */
export function callbackRoute (fastify: FastifyInstance, { client: defaultClient, providers, config, audit }: Runtime): void {
  for (const [name, { client }] of providers) {
    fastify.get(name === defaultClient.name ? '/callback' : `/callback/${name}`, { logSerializers }, async (request, reply) => {
      // The URL holds the authorization code: never cached, never sent on as a Referer.
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
      let result
      try {
        // Over http the Secure session cookie would be dropped silently and the user sent round in circles.
        if (config.secureCookies && request.protocol !== 'https') throw withReason(new OidcInsecureTransportError(), 'insecure_transport')
        result = await client.authorizeAccessToken(request, reply)
      } catch (err) {
        audit(request, 'login_failure', { provider: client.name, reason: reasonOf(err, 'internal_error') })
        // A reload of a callback that failed upstream starts that login afresh, once (the next reload is a 400).
        const replayed = (err as { retryLogin?: RetryLogin }).retryLogin
        if (replayed !== undefined) return await reply.redirect(freshLogin(config.prefix, replayed, defaultClient.name), 302)
        // The IdP was unusable or too slow: the error page links to a fresh login to the same place.
        const state = (request.query as Record<string, unknown>)['state']
        const status = (err as { statusCode?: unknown }).statusCode
        const retry = (status === 502 || status === 504) && typeof state === 'string' ? client.offerRetry(state) : undefined
        if (retry !== undefined) Object.assign(err as object, { retryUrl: freshLogin(config.prefix, retry, defaultClient.name) })
        throw err
      }
      // A new session id, the sealed token set, the back-channel index and the `login` event (or `login_failure`).
      await request.oidc.login(result)
      return await reply.redirect(result.returnTo, 302)
    })
  }
}
