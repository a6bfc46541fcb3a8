// request.oidc in an oidcResourceServer app: anonymous until requireBearer
// succeeded, then the token's caller — claims, via 'bearer', roles from the
// configured claim path, scopes from `scope` or `scp`, expiry, the presented
// token — and never carried over to another request. The token is never logged.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, viewOf, type BuildResourceServerOptions, type ResourceServerApp } from '../helpers/resource-server.js'

function routes (app: FastifyInstance): void {
  const guard = app.requireBearer()
  app.get('/api', { preHandler: guard }, async (request) => ({ ...viewOf(request.oidc), token: await request.oidc.accessToken() }))
  app.get('/open', async (request) => viewOf(request.oidc))
  app.get('/open/token', async (request) => await request.oidc.accessToken())
  app.get('/forward', { preHandler: guard }, async (request) => await request.oidc.fetch('https://downstream.example.test/'))
  app.get('/forward-headers', { preHandler: guard }, async (request) => ({
    bare: await request.oidc.forwardHeaders(),
    withUrl: await request.oidc.forwardHeaders('https://downstream.example.test/')
  }))
  app.get('/headers', { preHandler: guard }, async (request) => await request.oidc.forwardHeaders())
}

async function setup (t: Test, options: Partial<BuildResourceServerOptions> = {}): Promise<{ op: HostileOp, api: ResourceServerApp }> {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, routes, ...options })
  return { op, api }
}

async function get (api: ResourceServerApp, path: string, token?: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

t.test('after requireBearer: the caller of the token', async (t) => {
  const { op, api } = await setup(t, { rolesClaim: 'realm_access.roles' })
  const exp = Math.floor(Date.now() / 1000) + 120
  const token = await signAccessToken(op, { exp, scope: undefined, scp: ['api:read', 'api:write'], realm_access: { roles: ['admin', 'user'] } })
  const res = await get(api, '/api', token)
  t.equal(res.status, 200)
  t.match(res.body, { authenticated: true, via: 'bearer', roles: ['admin', 'user'], scopes: ['api:read', 'api:write'], expiresAt: exp, token })
  t.match(res.body['user'], { sub: 'alice', iss: op.issuer, aud: API_AUDIENCE, client_id: 'test-client' })
  t.notOk(api.logs.some((line) => line.includes(token.split('.')[2]!)), 'the token is not logged')
})

t.test('scopes: a space-separated scope claim, or an scp string (Entra ID)', async (t) => {
  const { op, api } = await setup(t)
  t.match((await get(api, '/api', await signAccessToken(op, { scope: 'a b  c' }))).body, { scopes: ['a', 'b', 'c'], roles: [] })
  t.match((await get(api, '/api', await signAccessToken(op, { scope: undefined, scp: 'x y' }))).body, { scopes: ['x', 'y'] })
  t.match((await get(api, '/api', await signAccessToken(op, { scope: undefined }))).body, { scopes: [] })
})

t.test('anonymous elsewhere, and on the next request', async (t) => {
  const { op, api } = await setup(t)
  const anonymous = { authenticated: false, via: null, user: null, roles: [], scopes: [], expiresAt: null }
  t.same((await get(api, '/open')).body, anonymous)
  t.equal((await get(api, '/api', await signAccessToken(op))).status, 200)
  t.same((await get(api, '/open', await signAccessToken(op))).body, anonymous, 'an unguarded route does not look at the token')
  t.same((await get(api, '/open')).body, anonymous, 'nothing carried over')
  const token = await get(api, '/open/token')
  t.equal(token.status, 401)
  t.equal(token.body['code'], 'FST_OIDC_UNAUTHENTICATED', 'accessToken() of an anonymous caller')
})

t.test('forwarding the caller\'s token is refused (nothing is sent)', async (t) => {
  const { op, api } = await setup(t)
  const token = await signAccessToken(op)
  const fetched = await get(api, '/forward', token)
  t.equal(fetched.status, 500)
  t.equal(fetched.body['code'], 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED')
  const headers = await get(api, '/forward-headers', token)
  t.equal(headers.body['code'], 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED')
  t.same((await get(api, '/headers', token)).body, {}, 'no URL: no authorization header')
})
