// An IdP without a (working) discovery document: when the authorization, token
// and JWKS endpoints are all configured, register() succeeds and a login works
// end to end; with one of them missing the provider is unavailable (the app
// starts, login answers 503 until discovery works). A discovery document that
// names ANOTHER issuer is never a fallback case.
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fastifyOidc, { type FastifyOidcOptions } from '../../lib/index.js'
import { Browser } from '../helpers/browser.js'
import { buildApp, SESSION_SECRET } from '../helpers/build-app.js'
import { expectLoggedIn, hitCallback, opCalls, reachCallback, scriptToken, type Attack } from '../helpers/attack.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

const endpointsOf = (op: HostileOp): NonNullable<FastifyOidcOptions['endpoints']> =>
  ({ authorization: op.url('/authorize'), token: op.url('/token'), jwks: op.url('/jwks') })

/** Registers the plugin against `op`; resolves to the start-up error's code, or to /auth/login's status when it started. */
async function startUp (t: Test, op: HostileOp, options: FastifyOidcOptions): Promise<string | number> {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(fastifyOidc, {
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    baseUrl: 'http://127.0.0.1:3000',
    sessionSecret: SESSION_SECRET,
    env: {},
    ...options
  })
  const failed = await app.ready().then(() => null, (err: unknown) => (err as { code?: string }).code ?? String(err))
  return failed ?? (await app.inject('/auth/login')).statusCode
}

t.test('discovery answers 404, all three endpoints configured: register succeeds and a login works', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 404, body: { error: 'not_found' } })
  const app = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, endpoints: endpointsOf(op) })
  t.equal(op.requests('/.well-known/openid-configuration').length, 1, 'discovery was tried')
  const attack: Attack = { ...app, op, browser: new Browser(), secrets: new Set([op.clientSecret!]) }
  scriptToken(attack)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  t.same(opCalls(op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'the configured endpoints were used')
  const [token] = op.requests('/token')
  t.equal(token?.body['grant_type'], 'authorization_code')
})

t.test('discovery answers 404 and one endpoint is not configured: the app starts, login answers 503', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 404, body: { error: 'not_found' } })
  for (const missing of ['authorization', 'token', 'jwks'] as const) {
    const endpoints = endpointsOf(op)
    delete endpoints[missing]
    t.equal(await startUp(t, op, { endpoints }), 503, `without ${missing}`)
  }
  t.equal(await startUp(t, op, { endpoints: endpointsOf(op) }), 302, 'with all three it logs in')
})

t.test('an unreachable IdP: all three endpoints configured logs in, one missing answers 503', async (t) => {
  const op = await startHostileOp(t)
  await op.stop()
  t.equal(await startUp(t, op, { endpoints: endpointsOf(op) }), 302, 'the login starts (nothing is fetched before the callback)')
  const { jwks: _jwks, ...twoOfThree } = endpointsOf(op)
  t.equal(await startUp(t, op, { endpoints: twoOfThree }), 503)
})

t.test('a discovery document of another issuer fails even when all three endpoints are configured', async (t) => {
  const op = await startHostileOp(t)
  op.metadata.issuer = 'https://impostor.example'
  t.equal(await startUp(t, op, { endpoints: endpointsOf(op) }), 'FST_OIDC_DISCOVERY_FAILED')
  t.equal(op.requests('/.well-known/openid-configuration').length, 1)
})
