// The example relying party, "productpage": home, profile (claims and the
// access token's expiry, never the token), and a product page assembled from
// the `details` and `reviews` services, called with the user's access token.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import fastifyOidc, { type FastifyOidcOptions, type OidcAuditEvent } from '../lib/index.js'
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
    // Refused after a refresh and a retry, or the session itself is over (a refused refresh ends it).
    const { code, statusCode } = err as { code?: string, statusCode?: number }
    if (statusCode === 401) return 'login'
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

/**
 * A service refused the user's token: log in again, once. If the services still
 * refuse the token of a fresh login (a misconfigured audience, say), another
 * redirect would loop through the IdP forever: say so instead.
 */
async function toLogin (request: FastifyRequest<{ Params: { id: string }, Querystring: { reauth?: string } }>, reply: FastifyReply): Promise<FastifyReply> {
  if (request.query.reauth === undefined) {
    return await reply.redirect(`/auth/login?returnTo=${encodeURIComponent(`/product/${request.params.id}?reauth=1`)}`, 302)
  }
  const body = '<p id="refused">The services refused your access token even after you logged in again: ' +
    'their audience or scopes do not match what the identity provider issues. <a href="/auth/logout">Log out</a></p>'
  return await reply.code(401).type('text/html; charset=utf-8').send(page('Access refused', body, request.oidc.user))
}

export async function buildExampleApp (
  options: FastifyOidcOptions,
  downstreams: Downstreams,
  logger: FastifyServerOptions['logger'] = true
): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  // The last audit events, for /admin/audit (a real app would ship them to its log store).
  const audit: OidcAuditEvent[] = []
  await app.register(fastifyOidc, {
    ...options,
    onAudit: (event) => {
      audit.push(event)
      if (audit.length > 50) audit.shift()
      options.onAudit?.(event)
    }
  })

  // Stock levels: for people (session) and for scripts with the Basic credentials of the users table.
  app.get('/api/stock', { preHandler: app.requireAuth({ accept: ['session', 'basic'] }) }, async (request) => ({
    stock: [{ id: '0', title: 'The Comedy of Errors', available: 12 }],
    requestedBy: request.oidc.user?.sub,
    via: request.oidc.via
  }))

  // The audit trail, for admins (the embedded IdP's "admin" user, or the "auditor" account with Basic).
  // Step-up: a login no older than 5 minutes; an older one is sent through the IdP's login again
  // (`max_age=300`) and comes back here on a new session. A Basic caller authenticates with each request.
  app.get('/admin/audit', { preHandler: app.requireAuth({ accept: ['session', 'basic'], roles: ['admin'], maxAge: 300 }) }, async (request, reply) => {
    const columns = ['at', 'type', 'reason', 'sub', 'username', 'route', 'ip'] as const
    const rows = [...audit].reverse()
      .map((event) => `<tr>${columns.map((c) => `<td>${escapeHtml(event[c] ?? '')}</td>`).join('')}</tr>`).join('')
    const table = `<table id="audit"><tr>${columns.map((c) => `<th>${c}</th>`).join('')}</tr>${rows}</table>`
    return reply.type('text/html; charset=utf-8').send(page('Audit trail', table, request.oidc.user))
  })

  app.get('/', async (request, reply) => {
    const user = request.oidc.user
    const body = user === null
      ? '<p>You are not signed in. <a href="/auth/login?returnTo=%2Fproduct%2F0">Log in</a> to see the products.</p>'
      : `<p id="welcome">Welcome back, ${escapeHtml(user['name'] ?? user.sub)}.</p><p><a href="/product/0" id="product-link">The Comedy of Errors</a></p>`
    return reply.type('text/html; charset=utf-8').send(page('Home', body, user))
  })

  app.get<{ Params: { id: string }, Querystring: { reauth?: string } }>('/product/:id', { preHandler: app.requireAuth() }, async (request, reply) => {
    // Only ids go into the services' URLs (never `..` or another path).
    if (!/^\d{1,9}$/.test(request.params.id)) return await reply.code(404).type('text/html; charset=utf-8').send(page('No such product', '', request.oidc.user))
    const id = request.params.id
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
    const admin = request.oidc.roles.includes('admin') ? ' · <a href="/admin/audit" id="audit-link">Audit trail</a> (asks for a login no older than 5 minutes)' : ''
    const roles = `<p id="roles">Roles: ${escapeHtml(request.oidc.roles.join(', ') || '(none)')}${admin}</p>`
    const scopes = `<p id="scopes">Scopes: ${escapeHtml(request.oidc.scopes.join(' ') || '(none)')}</p>`
    return reply.type('text/html; charset=utf-8').send(page('Profile', `${roles}${scopes}${expiry}<table id="claims">${rows}</table>`, user))
  })

  return app
}
