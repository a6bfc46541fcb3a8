// Both plugins in one app. Registered after the relying party, the resource
// server does not touch its request.oidc decorator: unguarded routes keep the
// session context, and a route guarded by requireBearer sees the token's
// caller (never the session's user). Registered first, the relying party then
// fails at start-up (its request.oidc decorator already exists).
import t from 'tap'
import Fastify from 'fastify'
import fastifyOidc, { oidcResourceServer } from '../../lib/index.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, signAccessToken } from '../helpers/resource-server.js'
import { SESSION_SECRET } from '../helpers/build-app.js'

const rpOptions = (op: HostileOp) => ({ env: {}, issuer: op.issuer, clientId: op.clientId, clientSecret: 'test-secret', baseUrl: 'http://127.0.0.1:3000', sessionSecret: SESSION_SECRET })

t.test('relying party first, then the resource server', async (t) => {
  const op = await startHostileOp(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyOidc, rpOptions(op))
  await app.register(oidcResourceServer, { env: {}, issuer: op.issuer, audience: API_AUDIENCE })
  app.get('/api', { preHandler: app.requireBearer() }, async (request) => ({ via: request.oidc.via, sub: request.oidc.user?.sub }))
  app.get('/page', async (request) => ({ via: request.oidc.via, session: typeof (request.oidc as unknown as { load?: unknown }).load === 'function' }))
  const authorization = `Bearer ${await signAccessToken(op, { sub: 'api-caller' })}`

  const api = await app.inject({ url: '/api', headers: { authorization } })
  t.equal(api.statusCode, 200)
  t.same(api.json(), { via: 'bearer', sub: 'api-caller' })
  const page = await app.inject({ url: '/page', headers: { authorization } })
  t.same(page.json(), { via: null, session: true }, 'an unguarded route keeps the relying party\'s session context')
  const refused = await app.inject({ url: '/api' })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['www-authenticate'], 'Bearer realm="https://api.example.test"')
})

t.test('resource server first: the relying party cannot decorate request.oidc', async (t) => {
  const op = await startHostileOp(t)
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(oidcResourceServer, { env: {}, issuer: op.issuer, audience: API_AUDIENCE })
  app.register(fastifyOidc, rpOptions(op))
  await t.rejects(async () => { await app.ready() }, { code: 'FST_ERR_DEC_ALREADY_PRESENT' })
})
