// The example relying party ("productpage"): a home page, a profile page behind
// requireAuth showing the user's claims and the access token's expiry.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastifyOidc, { type FastifyOidcOptions } from '../lib/index.js'
import { escapeHtml, page } from './pages.js'

export async function buildExampleApp (options: FastifyOidcOptions = {}, logger: FastifyServerOptions['logger'] = true): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  await app.register(fastifyOidc, options)

  app.get('/', async (request, reply) => {
    const user = request.oidc.user
    const body = user === null
      ? '<p>You are not signed in. <a href="/auth/login?returnTo=%2Fprofile">Log in</a> to see your profile.</p>'
      : `<p id="welcome">Welcome back, ${escapeHtml(user['name'] ?? user.sub)}.</p>`
    return reply.type('text/html; charset=utf-8').send(page('Home', body, user))
  })

  app.get('/profile', { preHandler: app.requireAuth() }, async (request, reply) => {
    const user = request.oidc.user!
    const { expiresAt } = request.oidc
    const rows = Object.entries(user)
      .map(([claim, value]) => `<tr><th>${escapeHtml(claim)}</th><td>${escapeHtml(JSON.stringify(value))}</td></tr>`)
      .join('')
    const expiry = typeof expiresAt === 'number'
      ? `<p id="expiry">Access token expires at <time datetime="${new Date(expiresAt * 1000).toISOString()}">${new Date(expiresAt * 1000).toISOString()}</time>.</p>`
      : '<p id="expiry">The access token has no expiry.</p>'
    const roles = `<p id="roles">Roles: ${escapeHtml(request.oidc.roles.join(', ') || '(none)')}</p>`
    return reply.type('text/html; charset=utf-8').send(page('Profile', `${roles}${expiry}<table id="claims">${rows}</table>`, user))
  })

  return app
}
