// Basic credentials must not cross a network in clear: over plain http they
// are refused (400) unless the base URL is loopback or basicAllowHttp is set;
// over https (here: a TLS-terminating proxy, trustProxy) they are accepted.
import Fastify from 'fastify'
import t from 'tap'
import fastifyOidc from '../../lib/index.js'
import { authenticateWith, basic, startBasicApp, USERS, usersTable } from '../helpers/basic.js'
import { SESSION_SECRET } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'

const auth = { authorization: basic('alice', USERS.alice.password) }

t.test('plain http to a non-loopback base URL: 400 FST_OIDC_BASIC_INSECURE_TRANSPORT, the authenticator is not asked', async (t) => {
  let asked = 0
  const app = await startBasicApp(t, { baseUrl: 'http://shop.example.test', authenticate: () => { asked++; return null } })
  const res = await app.call('/basic', auth)
  t.equal(res.status, 400)
  t.equal(res.body.code, 'FST_OIDC_BASIC_INSECURE_TRANSPORT')
  t.equal(asked, 0)
  t.match(app.events.at(-1), { type: 'basic_auth_failure', reason: 'insecure_transport', username: undefined })
})

t.test('basicAllowHttp (OIDC_BASIC_ALLOW_HTTP) accepts it', async (t) => {
  const app = await startBasicApp(t, { baseUrl: 'http://shop.example.test', env: { OIDC_BASIC_ALLOW_HTTP: 'true' } })
  t.equal((await app.call('/basic', auth)).status, 200)
})

t.test('an https base URL behind a TLS-terminating proxy: accepted when the proxy says https, refused otherwise', async (t) => {
  const op = await startHostileOp(t)
  const app = Fastify({ trustProxy: true })
  t.teardown(() => app.close())
  await app.register(fastifyOidc, {
    issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, baseUrl: 'https://shop.example.test', sessionSecret: SESSION_SECRET, env: {}, authenticate: authenticateWith(usersTable(USERS))
  })
  app.get('/basic', { preHandler: app.requireAuth({ accept: ['basic'] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
  const viaTls = await app.inject({ url: '/basic', headers: { ...auth, 'x-forwarded-proto': 'https' } })
  t.equal(viaTls.statusCode, 200)
  const clear = await app.inject({ url: '/basic', headers: auth })
  t.equal(clear.statusCode, 400)
  t.equal(clear.json().code, 'FST_OIDC_BASIC_INSECURE_TRANSPORT')
})

t.test('Basic settings default from process.env when no env option is given', async (t) => {
  const op = await startHostileOp(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyOidc, {
    issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, baseUrl: 'http://127.0.0.1:3000', sessionSecret: SESSION_SECRET, authenticate: authenticateWith(usersTable(USERS))
  })
  app.get('/basic', { preHandler: app.requireAuth({ accept: ['basic'] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
  const res = await app.inject({ url: '/basic', headers: { authorization: basic('alice', 'wrong') } })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Basic realm="fastify-oidc", charset="UTF-8"', 'the default realm')
})
