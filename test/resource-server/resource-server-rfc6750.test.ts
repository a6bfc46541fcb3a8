// requireBearer's RFC 6750 answers over real HTTP: the status, the
// WWW-Authenticate challenge and the JSON body for a missing token, a bad
// token, a missing scope and a malformed request (tokens sent in the query, in
// a form body, twice, or badly formed), also through the app's own error handler.
import t, { type Test } from 'tap'
import fastifyFormbody from '@fastify/formbody'
import Fastify from 'fastify'
import { oidcResourceServer, type OidcResourceServerOptions } from '../../lib/index.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, rawRequest, signAccessToken, type BuildResourceServerOptions, type ResourceServerApp } from '../helpers/resource-server.js'

const REALM = 'Bearer realm="https://api.example.test"'

async function setup (t: Test, options: Partial<BuildResourceServerOptions> = {}): Promise<{ op: HostileOp, api: ResourceServerApp, token: string }> {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, {
    issuer: op.issuer,
    audience: API_AUDIENCE,
    before: async (app) => { await app.register(fastifyFormbody) },
    routes: (app) => {
      app.get('/api', { preHandler: app.requireBearer() }, async (request) => ({ sub: request.oidc.user?.sub }))
      app.post('/api', { preHandler: app.requireBearer() }, async (request) => ({ sub: request.oidc.user?.sub }))
      app.get('/admin', { preHandler: app.requireBearer({ scopes: ['api:read', 'api:admin'] }) }, async () => ({ admin: true }))
    },
    ...options
  })
  return { op, api, token: await signAccessToken(op) }
}

interface Answer { status: number, challenge: string | undefined, body: Record<string, unknown> }

async function send (url: string, headers: Record<string, string | string[]> = {}, method = 'GET', body?: string): Promise<Answer> {
  const res = await rawRequest(url, headers, method, body)
  return { status: res.status, challenge: res.headers['www-authenticate'] as string | undefined, body: JSON.parse(res.body) as Record<string, unknown> }
}

t.test('no token: 401 with a bare Bearer challenge', async (t) => {
  const { api } = await setup(t)
  const res = await send(`${api.url}/api`)
  t.equal(res.status, 401)
  t.equal(res.challenge, REALM, 'no error attribute (RFC 6750 3.1)')
  t.same(res.body, { statusCode: 401, code: 'FST_OIDC_BEARER_MISSING', error: 'Unauthorized', message: 'A bearer access token is required' })

  const basic = await send(`${api.url}/api`, { authorization: 'Basic YWxpY2U6c2VjcmV0' })
  t.equal(basic.status, 401, 'another scheme is no bearer token')
  t.equal(basic.challenge, REALM)
})

t.test('a valid token, whatever the case of the scheme', async (t) => {
  const { api, token } = await setup(t)
  t.equal((await send(`${api.url}/api`, { authorization: `Bearer ${token}` })).status, 200)
  t.equal((await send(`${api.url}/api`, { authorization: `bearer  ${token}` })).status, 200)
})

t.test('a bad token: 401 invalid_token with a description and no token text', async (t) => {
  const { api, op, token } = await setup(t)
  const forged = op.flipSignature(token)
  const res = await send(`${api.url}/api`, { authorization: `Bearer ${forged}` })
  t.equal(res.status, 401)
  t.equal(res.challenge, `${REALM}, error="invalid_token", error_description="The access token was rejected: the signature does not verify with the issuer keys"`)
  t.same(res.body, { statusCode: 401, code: 'FST_OIDC_TOKEN_INVALID', error: 'Unauthorized', message: 'The access token was rejected: the signature does not verify with the issuer keys' })
})

t.test('a missing scope: 403 insufficient_scope naming the required scopes', async (t) => {
  const { api, token } = await setup(t)
  const res = await send(`${api.url}/admin`, { authorization: `Bearer ${token}` })
  t.equal(res.status, 403)
  t.equal(res.challenge, `${REALM}, error="insufficient_scope", error_description="The access token lacks a required scope", scope="api:read api:admin"`)
  t.same(res.body, { statusCode: 403, code: 'FST_OIDC_INSUFFICIENT_SCOPE', error: 'Forbidden', message: 'The access token lacks a required scope' })
})

t.test('malformed requests: 400 invalid_request', async (t) => {
  const { api, token } = await setup(t)
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const cases: Array<[string, string, Record<string, string | string[]>, string?, string?]> = [
    ['a token in the query', `/api?access_token=${token}`, {}],
    ['a token in the header and the query', `/api?access_token=${token}`, { authorization: `Bearer ${token}` }],
    ['a token in the header and a form body', '/api', { authorization: `Bearer ${token}`, ...form }, 'POST', `access_token=${token}`],
    ['a token in a form body only', '/api', form, 'POST', `access_token=${token}&x=1`],
    ['two Authorization headers', '/api', { authorization: [`Bearer ${token}`, `Bearer ${token}`] }],
    ['an empty Bearer', '/api', { authorization: 'Bearer ' }],
    ['Bearer and two tokens', '/api', { authorization: `Bearer ${token} ${token}` }],
    ['a token with characters outside b64token', '/api', { authorization: 'Bearer abc%def' }],
    ['an empty Authorization header', '/api', { authorization: '' }],
    ['an Authorization header without a scheme', '/api', { authorization: '"quoted"' }]
  ]
  for (const [name, path, headers, method, body] of cases) {
    const res = await send(`${api.url}${path}`, headers, method, body)
    t.equal(res.status, 400, name)
    t.equal(res.body['code'], 'FST_OIDC_BEARER_REQUEST_INVALID', name)
    t.match(res.challenge, /^Bearer realm="https:\/\/api\.example\.test", error="invalid_request", error_description="[^"]+"$/, name)
    t.notOk(JSON.stringify(res).includes(token.split('.')[1]!), `${name}: no token text in the answer`)
  }
})

t.test('only form-encoded bodies carry tokens: a JSON field named access_token is data', async (t) => {
  const { api, token } = await setup(t)
  const form = await send(`${api.url}/api`, { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, 'POST', 'note=1')
  t.equal(form.status, 200, 'a form body without access_token')
  const json = await send(`${api.url}/api`, { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, 'POST', JSON.stringify({ access_token: 'data' }))
  t.equal(json.status, 200)
})

t.test('the realm option', async (t) => {
  const { api } = await setup(t, { env: { OIDC_REALM: 'reviews' } })
  t.equal((await send(`${api.url}/api`)).challenge, 'Bearer realm="reviews"')
})

t.test('the challenge survives the application\'s own error handler', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, {
    issuer: op.issuer,
    audience: API_AUDIENCE,
    before: (app) => {
      app.setErrorHandler(async (err: { statusCode?: number }, _request, reply) => {
        await reply.code(err.statusCode ?? 500).send({ problem: 'custom' })
      })
    }
  })
  const missing = await send(`${api.url}/api`)
  t.equal(missing.status, 401)
  t.equal(missing.challenge, REALM)
  t.same(missing.body, { problem: 'custom' })
  const bad = await send(`${api.url}/api`, { authorization: 'Bearer a.b.c' })
  t.match(bad.challenge, /error="invalid_token"/)
})

t.test('requireBearer refuses scopes that cannot be sent in a challenge', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const op = await startHostileOp(t)
  await app.register(oidcResourceServer, { env: {}, issuer: op.issuer, audience: API_AUDIENCE } satisfies OidcResourceServerOptions)
  t.throws(() => app.requireBearer({ scopes: ['api read'] }), { code: 'FST_OIDC_CONFIG_INVALID' })
  t.throws(() => app.requireBearer({ scopes: ['say "hi"'] }), { code: 'FST_OIDC_CONFIG_INVALID' })
  t.throws(() => app.requireBearer({ scopes: 'api:read' as unknown as string[] }), { code: 'FST_OIDC_CONFIG_INVALID' })
  t.type(app.requireBearer({ scopes: ['api:read'] }), 'function')
})
