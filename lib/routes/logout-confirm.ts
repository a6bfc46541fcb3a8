import type { FastifyReply } from 'fastify'
import { escapeHtml } from '../escape.js'

/**
 * The page a `GET /auth/logout` from another site (or an unknown context) gets
 * instead of a logout: a `POST` form to the same route (CSRF-checked) and a
 * link back to the app. Escaped, not cached, not framed. No referrer policy
 * that would blank the form's `Origin`, and no `form-action` (the logout
 * redirects on to the IdP).
 */
export function sendLogoutConfirmation (reply: FastifyReply, action: string): FastifyReply {
  reply.header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
  return reply.type('text/html; charset=utf-8').send(
    '<!doctype html><html><head><meta charset="utf-8"><title>Log out?</title></head><body>' +
    '<h1>Log out?</h1><p>A link from another page asks to log you out of this site.</p>' +
    `<form method="post" action="${escapeHtml(action)}"><button type="submit" id="confirm-logout">Log out</button></form>` +
    '<p><a href="/" id="stay-logged-in">Stay logged in</a></p></body></html>'
  )
}
