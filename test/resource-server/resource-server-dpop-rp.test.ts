// DPoP through the relying party's requireAuth({ accept: ['bearer'] }): it
// follows resourceServer.dpop (the plugin's own OIDC_DPOP, true / false, is the
// relying party's and no resource-server setting), and with a Redis session
// store two instances claim proof ids in it: a proof used at one is refused at
// the other.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyOidc from '../../lib/index.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, signAccessToken } from '../helpers/resource-server.js'
import { SESSION_SECRET } from '../helpers/build-app.js'
import { dpopKey, proof } from '../helpers/dpop.js'
import { redisStore, uniquePrefix } from '../helpers/redis.js'

async function relyingParty (t: Test, op: HostileOp, extra: Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyOidc, {
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: 'test-secret',
    baseUrl: 'http://127.0.0.1:3000',
    sessionSecret: SESSION_SECRET,
    ...extra
  })
  app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
  return app
}

t.test('resourceServer.dpop required; the relying party\'s OIDC_DPOP is not read as the resource server\'s', async (t) => {
  const op = await startHostileOp(t)
  const app = await relyingParty(t, op, { env: { OIDC_DPOP: 'false' }, resourceServer: { audience: API_AUDIENCE, dpop: 'required' } })
  const key = await dpopKey()
  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  const ok = await app.inject({ url: '/api', headers: { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', 'http://localhost/api', token) } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { sub: 'alice' })
  const plain = await app.inject({ url: '/api', headers: { authorization: `Bearer ${await signAccessToken(op)}` } })
  t.equal(plain.statusCode, 401)
  t.match(plain.headers['www-authenticate'], /^DPoP realm="https:\/\/api\.example\.test", error="invalid_token", .*algs="ES256 /)
})

t.test('two instances on one Redis session store share the proof ids', async (t) => {
  const op = await startHostileOp(t)
  const prefix = uniquePrefix()
  const options = (): Record<string, unknown> => ({ env: {}, sessionStore: redisStore(t, prefix), resourceServer: { audience: API_AUDIENCE } })
  const [a, b] = [await relyingParty(t, op, options()), await relyingParty(t, op, options())]
  const key = await dpopKey()
  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  const headers = { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', 'http://localhost/api', token) }
  t.equal((await a!.inject({ url: '/api', headers })).statusCode, 200)
  const replay = await b!.inject({ url: '/api', headers })
  t.equal(replay.statusCode, 401)
  t.match(replay.json(), { code: 'FST_OIDC_DPOP_PROOF_INVALID', message: /already used/ })
  t.same(replay.headers['www-authenticate'], [
    'DPoP realm="https://api.example.test", error="invalid_dpop_proof", error_description="The DPoP proof was rejected: the proof was already used", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"',
    'Bearer realm="https://api.example.test"'
  ])
})
