import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OidcInsecureTransportError, OidcSessionStoreError } from '../errors.js'
import { reasonOf, withReason } from '../idp-errors.js'
import { identityOf } from '../session/token-vault.js'
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

/**
 * `GET /auth/callback` (the default provider's) and `GET /auth/callback/<name>`
 * (each other provider's): completes the login — only a login started at that
 * provider (mix-up defence). On success the session id is regenerated
 * (fixation defence) and the sealed token set stored; on failure nothing is
 * stored and a `login_failure` event says why.
 */
export function callbackRoute (fastify: FastifyInstance, { client: defaultClient, providers, config, vault, audit }: Runtime): void {
  for (const [name, { client, index }] of providers) {
    fastify.get(name === defaultClient.name ? '/callback' : `/callback/${name}`, { logSerializers }, async (request, reply) => {
      // The URL holds the authorization code: never cached, never sent on as a Referer.
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
      try {
        // Over http the Secure session cookie would be dropped silently and the user sent round in circles.
        if (config.secureCookies && request.protocol !== 'https') throw withReason(new OidcInsecureTransportError(), 'insecure_transport')
        const { tokens, claims, returnTo, provider } = await client.authorizeAccessToken(request, reply)
        try {
          await request.session.regenerate()
          await vault.write(request, { tokens, claims, provider })
          // Back-channel logout finds the session by the IdP's sid and the user's sub (linked before it exists).
          await index.link(request.session.sessionId, { sid: typeof claims['sid'] === 'string' ? claims['sid'] : undefined, sub: claims.sub })
          await request.session.save()
        } catch (err) {
          throw withReason(new OidcSessionStoreError({ cause: err }), 'session_store_error')
        }
        audit(request, 'login', identityOf({ provider, claims }))
        return await reply.redirect(returnTo, 302)
      } catch (err) {
        audit(request, 'login_failure', { provider: client.name, reason: reasonOf(err, 'internal_error') })
        throw err
      }
    })
  }
}
