// The example relying party, "productpage": home, profile (claims and the
// access token's expiry, never the token), and a product page assembled from
// the `details` and `reviews` services, called with the user's access token.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import fastifyOidc, { type FastifyOidcOptions } from '../lib/index.js'
import { escapeHtml, page } from './pages.js'

export interface Downstreams {
  detailsUrl: string
  reviewsUrl: string
}

type Section = { ok: true, body: Record<string, unknown> } | { ok: false, status: number | null }

/** Calls one service with the user's token; a refused token (after one refresh and retry) means: log in again. */
async function call (request: FastifyRequest, url: string): Promise<Section | 'login'> {
  try {
    const res = await request.oidc.fetch(url, { headers: { accept: 'application/json' } })
    if (!res.ok) {
      await res.body?.cancel()
      return { ok: false, status: res.status }
    }
    return { ok: true, body: await res.json() as Record<string, unknown> }
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'FST_OIDC_DOWNSTREAM_UNAUTHORIZED' || code === 'FST_OIDC_UNAUTHENTICATED') return 'login'
    request.log.warn({ err: { code, message: (err as Error).message } }, 'downstream call failed')
    return { ok: false, status: null }
  }
}

function unavailable (what: string, section: Section & { ok: false }): string {
  return `<p class="unavailable" id="${what}-unavailable">Sorry, ${what} are currently unavailable${section.status === null ? '' : ` (HTTP ${section.status})`}.</p>`
}

function detailsHtml (section: Section): string {
  if (!section.ok) return unavailable('details', section)
  const d = section.body
  return `<dl id="details">${['author', 'year', 'pages', 'publisher', 'isbn'].map((k) => `<dt>${k}</dt><dd>${escapeHtml(d[k])}</dd>`).join('')}</dl>`
}

function reviewsHtml (section: Section): string {
  if (!section.ok) return unavailable('reviews', section)
  const reviews = section.body['reviews'] as Array<{ reviewer: string, rating: number, text: string }>
  return `<ul id="reviews">${reviews.map((r) => `<li><blockquote>${escapeHtml(r.text)}</blockquote><p>— ${escapeHtml(r.reviewer)}, ${'★'.repeat(r.rating)}</p></li>`).join('')}</ul>`
}

async function toLogin (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return await reply.redirect(`/auth/login?returnTo=${encodeURIComponent(request.url)}`, 302)
}

export async function buildExampleApp (
  options: FastifyOidcOptions,
  downstreams: Downstreams,
  logger: FastifyServerOptions['logger'] = true
): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  await app.register(fastifyOidc, options)

  app.get('/', async (request, reply) => {
    const user = request.oidc.user
    const body = user === null
      ? '<p>You are not signed in. <a href="/auth/login?returnTo=%2Fproduct%2F0">Log in</a> to see the products.</p>'
      : `<p id="welcome">Welcome back, ${escapeHtml(user['name'] ?? user.sub)}.</p><p><a href="/product/0" id="product-link">The Comedy of Errors</a></p>`
    return reply.type('text/html; charset=utf-8').send(page('Home', body, user))
  })

  app.get<{ Params: { id: string } }>('/product/:id', { preHandler: app.requireAuth() }, async (request, reply) => {
    const id = encodeURIComponent(request.params.id)
    const [details, reviews] = await Promise.all([
      call(request, `${downstreams.detailsUrl}/details/${id}`),
      call(request, `${downstreams.reviewsUrl}/reviews/${id}`)
    ])
    if (details === 'login' || reviews === 'login') return await toLogin(request, reply)
    const title = details.ok ? String(details.body['title']) : `Product ${request.params.id}`
    const body = `<section><h2>Details</h2>${detailsHtml(details)}</section><section><h2>Reviews</h2>${reviewsHtml(reviews)}</section>`
    return reply.type('text/html; charset=utf-8').send(page(title, body, request.oidc.user))
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
    const scopes = `<p id="scopes">Scopes: ${escapeHtml(request.oidc.scopes.join(' ') || '(none)')}</p>`
    return reply.type('text/html; charset=utf-8').send(page('Profile', `${roles}${scopes}${expiry}<table id="claims">${rows}</table>`, user))
  })

  return app
}
