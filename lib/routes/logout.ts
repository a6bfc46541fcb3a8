import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RequestContext } from '../context.js'
import type { Runtime } from '../runtime.js'
import { identityOf } from '../session/token-vault.js'
import { sendLogoutConfirmation } from './logout-confirm.js'
import { assertSameOrigin, isForeignContext } from './same-origin.js'

/**
 * `GET|POST /auth/logout`: a `GET` from another site or an unknown context
 * (see `isForeignContext`) gets a confirmation page with a `POST` form instead;
 * otherwise it destroys the session first, then revokes the
 * refresh token at the session's provider (when the IdP can and `revokeOnLogout`
 * is on; a failure is logged, never shown), then sends the browser to its
 * end-session endpoint with `id_token_hint`, `post_logout_redirect_uri` and
 * `client_id` (see `ProviderClient.logoutUrl` for providers without one).
 */
export function logoutRoute (fastify: FastifyInstance, { client: defaultClient, providers, config, audit }: Runtime): void {
  async function logout (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (request.method === 'POST') assertSameOrigin(request, config.baseUrl)
    // A GET another site triggers (`<img src>`, a link) asks first: only a same-origin POST logs out then.
    else if (isForeignContext(request, config.baseUrl)) return sendLogoutConfirmation(reply, `${config.prefix}/logout`)
    const context = request.oidc as RequestContext
    await context.load()
    const payload = context.payload
    await context.logout()
    reply.header('cache-control', 'no-store')
    if (payload === null) return await reply.redirect(defaultClient.logoutUrl(), 302)
    // The session's own provider (a session of a provider no longer configured does not open).
    const { client } = providers.get(payload.provider)!
    audit(request, 'logout', identityOf(payload))
    if (config.revokeOnLogout && payload.tokens.refreshToken !== undefined) {
      await client.revoke(payload.tokens.refreshToken, 'refresh_token').catch((err: unknown) => {
        request.log.warn({ code: (err as { code?: string }).code }, 'oidc logout: refresh token revocation failed')
      })
    }
    return await reply.redirect(client.logoutUrl(payload.tokens.idToken), 302)
  }
  fastify.get('/logout', logout)
  fastify.post('/logout', logout)
}
