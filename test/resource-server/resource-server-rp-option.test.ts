// The relying party's `resourceServer` option (bearer tokens in requireAuth)
// against hostile OPs: an audience equal to the relying party's own client id
// (the aud of its ID tokens) is refused at register(); a resourceServer for
// another issuer discovers that issuer's JWKS instead of borrowing the relying
// party's JWKS URI or discovery URL; without an env option, process.env is read.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyOidc, { type FastifyOidcOptions } from '../../lib/index.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, signAccessToken } from '../helpers/resource-server.js'
import { SESSION_SECRET } from '../helpers/build-app.js'

const rpOptions = (op: HostileOp, extra: Partial<FastifyOidcOptions> = {}): FastifyOidcOptions =>
  ({ env: {}, issuer: op.issuer, clientId: op.clientId, clientSecret: 'test-secret', baseUrl: 'http://127.0.0.1:3000', sessionSecret: SESSION_SECRET, ...extra })

async function app (t: Test, options: FastifyOidcOptions): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyOidc, options)
  app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => ({ via: request.oidc.via, sub: request.oidc.user?.sub }))
  await app.ready()
  return app
}

async function registerError (t: Test, options: FastifyOidcOptions): Promise<{ code?: string, message: string }> {
  try {
    await app(t, options)
  } catch (err) {
    return err as { code?: string, message: string }
  }
  t.fail('register() succeeded')
  return { message: '' }
}

t.test('an audience equal to the relying party\'s client id is refused at register()', async (t) => {
  const op = await startHostileOp(t)
  for (const [name, options] of [
    ['resourceServer.audience', rpOptions(op, { resourceServer: { audience: op.clientId } })],
    ['one of several audiences', rpOptions(op, { resourceServer: { audience: [API_AUDIENCE, op.clientId] } })],
    ['OIDC_AUDIENCE', rpOptions(op, { env: { OIDC_AUDIENCE: `${API_AUDIENCE},${op.clientId}` } })]
  ] as const) {
    const err = await registerError(t, options)
    t.equal(err.code, 'FST_OIDC_CONFIG_INVALID', name)
    t.match(err.message, /OIDC_AUDIENCE: .*client id/, name)
  }
})

t.test('a resourceServer for another issuer discovers that issuer\'s JWKS', async (t) => {
  const rpOp = await startHostileOp(t)
  const apiOp = await startHostileOp(t)
  // The relying party's own endpoint settings, which must not leak into the other issuer's verifier.
  const env = { OIDC_DISCOVERY_URL: rpOp.issuer, OIDC_JWKS_URI: rpOp.url('/jwks') }
  const api = await app(t, rpOptions(rpOp, { env, resourceServer: { issuer: apiOp.issuer, audience: API_AUDIENCE } }))
  t.equal(apiOp.requests('/.well-known/openid-configuration').length, 1, 'the API issuer\'s metadata was fetched')

  const own = await api.inject({ url: '/api', headers: { authorization: `Bearer ${await signAccessToken(apiOp)}` } })
  t.equal(own.statusCode, 200, 'a token of the API\'s issuer passes')
  t.same(own.json(), { via: 'bearer', sub: 'alice' })
  t.equal(apiOp.requests('/jwks').length, 1, 'with that issuer\'s keys')
  const rpToken = await api.inject({ url: '/api', headers: { authorization: `Bearer ${await signAccessToken(rpOp)}` } })
  t.equal(rpToken.statusCode, 401, 'a token of the relying party\'s issuer is refused')
  t.equal(rpOp.requests('/jwks').length, 0, 'the relying party\'s JWKS was never used for bearer tokens')
})

t.test('a resourceServer naming the relying party\'s own issuer keeps its JWKS', async (t) => {
  const op = await startHostileOp(t)
  const api = await app(t, rpOptions(op, { resourceServer: { issuer: op.issuer, audience: API_AUDIENCE } }))
  t.equal(op.requests('/.well-known/openid-configuration').length, 1, 'one discovery: the relying party\'s')
  t.equal((await api.inject({ url: '/api', headers: { authorization: `Bearer ${await signAccessToken(op)}` } })).statusCode, 200)
})

t.test('without an env option, OIDC_AUDIENCE is read from process.env', async (t) => {
  const op = await startHostileOp(t)
  const saved = process.env['OIDC_AUDIENCE']
  process.env['OIDC_AUDIENCE'] = API_AUDIENCE
  t.teardown(() => { if (saved === undefined) delete process.env['OIDC_AUDIENCE']; else process.env['OIDC_AUDIENCE'] = saved })
  const { env: _env, ...options } = rpOptions(op)
  const api = await app(t, options)
  t.equal((await api.inject({ url: '/api', headers: { authorization: `Bearer ${await signAccessToken(op)}` } })).statusCode, 200)
})
