// A cached introspection answer is never handed out by reference: what a
// handler does to request.oidc (its scopes, roles, user claims) stays in that
// request, and a later request with the same token is judged by the IdP's
// answer alone — a handler cannot grant a token a scope for everyone.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { API_AUDIENCE, buildIntrospectingServer, startIntrospectionEndpoint, viewOf, type OidcView } from '../helpers/resource-server.js'

t.test('a handler mutating request.oidc does not poison the cached answer', async (t) => {
  const endpoint = await startIntrospectionEndpoint(t)
  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: API_AUDIENCE, scope: 'api:read', roles: ['user'], token_type: 'Bearer' } })
  const api = await buildIntrospectingServer(t, endpoint, {
    routes: (app) => {
      app.get('/mutate', { preHandler: app.requireBearer() }, async (request) => {
        request.oidc.scopes.push('admin:write')
        request.oidc.roles.push('admin')
        const user = request.oidc.user as Record<string, unknown>
        user['sub'] = 'mallory'
        user['scope'] = 'api:read admin:write'
        ;(user['roles'] as string[]).push('admin')
        return viewOf(request.oidc)
      })
      app.get('/admin', { preHandler: app.requireBearer({ scopes: ['admin:write'] }) }, async (request) => viewOf(request.oidc))
      app.get('/api', { preHandler: app.requireBearer() }, async (request) => viewOf(request.oidc))
    }
  })
  const token = randomBytes(24).toString('base64url')
  const get = async (path: string): Promise<{ status: number, body: Record<string, unknown> }> => {
    const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  const mutated = await get('/mutate')
  t.equal(mutated.status, 200)
  const view = mutated.body as unknown as OidcView
  t.same(view.scopes, ['api:read'], 'scopes is a copy: pushing to it changes nothing')
  t.same(view.user?.['sub'], 'mallory', 'the handler may change its own copy of the claims')
  t.same(view.roles, ['user', 'admin'], 'roles read from that request\'s own (mutated) claims')

  const admin = await get('/admin')
  t.equal(admin.status, 403, 'the same token is still refused the scope it was never granted')
  t.equal(admin.body['code'], 'FST_OIDC_INSUFFICIENT_SCOPE')

  const again = await get('/api')
  t.equal(again.status, 200)
  t.match(again.body, { scopes: ['api:read'], roles: ['user'], user: { sub: 'alice', scope: 'api:read', roles: ['user'] } }, 'the IdP\'s answer, untouched')
  t.equal(endpoint.calls.length, 1, 'the later requests were served from the cache')
})
