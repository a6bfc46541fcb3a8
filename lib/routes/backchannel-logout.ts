import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { decodeJwt, type JWTPayload } from 'jose'
import { OidcBackchannelUnsupportedError, OidcLogoutTokenInvalidError, OidcMethodNotAllowedError } from '../errors.js'
import { reasonOf, withReason } from '../idp-errors.js'
import type { Runtime } from '../runtime.js'
import { storeCall } from '../session/session-index.js'
import { MAX_LOGOUT_TOKEN_AGE } from '../tokens/logout-token.js'

/**
 * The `logout_token` of a form post (Back-Channel Logout 1.0 §2.5), or undefined
 * when there is not exactly one. Only a form counts: the plugin's routes also
 * parse JSON and text bodies, which carry no logout token.
 */
function logoutTokenOf (request: FastifyRequest): string | undefined {
  const form = /^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(request.headers['content-type'] ?? '')
  const token = form ? (request.body as Record<string, unknown>)['logout_token'] : undefined
  return typeof token === 'string' && token !== '' ? token : undefined
}

/** A token's claims read without verification, to pick who verifies it; undefined when it is no JWT. */
function unverifiedClaims (token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token)
  } catch {
    return undefined
  }
}

/**
 * The provider a logout token says it is from (its `iss`, and its `aud` naming the provider's
 * client), else the default one — whose verification then rejects it. An OAuth 2 only provider sends none.
 */
function senderOf ({ client, providers }: Runtime, token: string): { client: Runtime['client'], index: Runtime['index'] } {
  const claims = unverifiedClaims(token)
  const named = [...providers.values()].find(({ client: { provider } }) =>
    !provider.oauth2Only && claims?.iss === provider.issuer && [claims.aud].flat().includes(provider.clientId))
  return named ?? providers.get(client.name)!
}

/**
 * `POST /auth/backchannel-logout` (OIDC Back-Channel Logout 1.0): the IdP posts
 * a `logout_token`; once it is valid and its `jti` was never seen (a replay
 * cache shared through the session store), every session of its `sid` — or,
 * without one, of its `sub` — is destroyed, on every instance sharing the
 * store. With several providers, the token's `iss` and `aud` say whose it is.
 * 200 with `Cache-Control: no-store` and an empty body; 400 for a
 * missing, invalid or replayed token (nothing destroyed); 501 when the session
 * store cannot find sessions; 405 for any other method. No CSRF check: the
 * caller is the IdP, not a browser, and the token authenticates it.
 */
export function backchannelLogoutRoute (fastify: FastifyInstance, runtime: Runtime): void {
  const { config, audit, innerStore, store } = runtime
  fastify.post('/backchannel-logout', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    let client = runtime.client
    try {
      const token = logoutTokenOf(request)
      if (token === undefined) throw withReason(new OidcLogoutTokenInvalidError('a single logout_token form parameter is required'), 'logout_token_missing')
      const sender = senderOf(runtime, token)
      const index = sender.index
      client = sender.client
      if (!index.supported || innerStore.claimOnce === undefined) throw withReason(new OidcBackchannelUnsupportedError(), 'backchannel_unsupported')
      const logout = await client.verifyLogoutToken(token)
      const jti = createHash('sha256').update(`${client.provider.issuer}\n${logout.jti}`).digest('base64url')
      const first = await storeCall(innerStore.claimOnce(`jti:${jti}`, (MAX_LOGOUT_TOKEN_AGE + 2 * config.clockTolerance) * 1000))
      if (!first) throw withReason(new OidcLogoutTokenInvalidError('this logout token was already used'), 'logout_token_replayed')
      const sessions = await index.find(logout)
      for (const sessionId of sessions) await storeCall(store.remove(sessionId))
      audit(request, 'backchannel_logout', { provider: client.name, ...(logout.sub === undefined ? {} : { sub: logout.sub }), ...(logout.sid === undefined ? {} : { sid: logout.sid }) })
      return await reply.code(200).send()
    } catch (err) {
      // Every failure above carries its reason but the session store's (storeCall).
      audit(request, 'backchannel_logout_failure', { provider: client.name, reason: reasonOf(err, 'session_store_error') })
      throw err
    }
  })
  const notAllowed = async (_request: unknown, reply: { header: (name: string, value: string) => unknown }): Promise<never> => {
    reply.header('allow', 'POST')
    throw new OidcMethodNotAllowedError('POST')
  }
  fastify.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH'], url: '/backchannel-logout', handler: notAllowed })
}
