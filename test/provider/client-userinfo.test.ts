// `fastify.oidc.client().userinfo(tokens | accessToken)`: the access token goes in
// the Authorization header (never the query string); the IdP's answer is the
// user's claims. A refused token is 401 FST_OIDC_IDP_ERROR; an unusable, missing
// or slow userinfo endpoint is 502 / 504.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import { startHostileOp, type ResponseScript } from '../helpers/hostile-op.js'
import { freePort, startProvider } from '../helpers/provider.js'

/** `/me` answers the userinfo claims for the session's access token; `/me-tokens` passes a token set. */
function userinfoRoutes (app: FastifyInstance): void {
  app.get('/me', { preHandler: app.requireAuth() }, async (request) => await app.oidc.client().userinfo(await request.oidc.accessToken()))
  app.get('/me-tokens', { preHandler: app.requireAuth() }, async (request) =>
    await app.oidc.client().userinfo({ accessToken: await request.oidc.accessToken(), tokenType: 'Bearer' }))
}

const JSON_ACCEPT = { accept: 'application/json' }

t.jobs = 4

t.test('real IdP: userinfo with the session\'s access token answers the user\'s claims', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, accounts: { alice: { email: 'alice@corp.example', roles: ['user', 'admin'] } } })
  const { baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, routes: userinfoRoutes })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/public`, { login: 'alice' })
  t.equal(login.status, 200, 'logged in')

  for (const path of ['/me', '/me-tokens']) {
    const res = await browser.get(`${baseUrl}${path}`, JSON_ACCEPT)
    t.equal(res.status, 200, `${path}: 200`)
    t.match(JSON.parse(res.body), { sub: 'alice', email: 'alice@corp.example', roles: ['user', 'admin'] }, `${path}: the IdP's claims for alice`)
  }
  t.equal(idp.log.filter((e) => e.path === '/me' && e.method === 'GET').length, 2, 'the IdP\'s userinfo endpoint was called twice')
})

t.test('real IdP: an access token it never issued is refused -> FST_OIDC_IDP_ERROR (401)', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { app } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  await t.rejects(app.oidc.client().userinfo('not-a-token-of-this-idp'), { code: 'FST_OIDC_IDP_ERROR', statusCode: 401 })
})

t.test('hostile OP: the access token is sent as a Bearer header, never in the query string or a body', async (t) => {
  const attack = await startAttack(t, { app: { routes: userinfoRoutes } })
  let issued: string | undefined
  scriptToken(attack, (ctx) => {
    issued = ctx.accessToken
    return undefined
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const res = await attack.browser.get(`${attack.baseUrl}/me`, JSON_ACCEPT)
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), attack.op.user, 'the OP\'s userinfo claims')

  const [request, ...more] = attack.op.requests('/userinfo')
  t.equal(more.length, 0, 'one userinfo request')
  t.equal(request?.method, 'GET')
  t.equal(request?.headers.authorization, `Bearer ${issued}`, 'the access token the OP issued, in the Authorization header')
  t.same(request?.query, {}, 'no query string')
  t.equal(request?.rawBody, '', 'no body')
})

interface Failure {
  name: string
  script: () => ResponseScript
  code: string
  status: number
}

const failures: Failure[] = [
  { name: '401 (token refused)', script: () => ({ status: 401, body: { error: 'invalid_token' } }), code: 'FST_OIDC_IDP_ERROR', status: 401 },
  { name: '500', script: () => ({ status: 500, body: { error: 'server_error' } }), code: 'FST_OIDC_IDP_BAD_RESPONSE', status: 502 },
  { name: '200 without sub', script: () => ({ status: 200, body: { email: 'alice@example.com' } }), code: 'FST_OIDC_IDP_BAD_RESPONSE', status: 502 },
  { name: '200 with a non-string sub', script: () => ({ status: 200, body: { sub: 42 } }), code: 'FST_OIDC_IDP_BAD_RESPONSE', status: 502 },
  { name: '200 with JSON null', script: () => ({ status: 200, body: 'null', headers: { 'content-type': 'application/json' } }), code: 'FST_OIDC_IDP_BAD_RESPONSE', status: 502 },
  { name: '200 that is not JSON', script: () => ({ status: 200, body: '<html>hello</html>', headers: { 'content-type': 'text/html' } }), code: 'FST_OIDC_IDP_BAD_RESPONSE', status: 502 }
]

for (const failure of failures) {
  t.test(`hostile OP: userinfo answers ${failure.name} -> ${failure.code}`, async (t) => {
    const attack = await startAttack(t, { app: { routes: userinfoRoutes } })
    await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
    attack.op.onUserinfo = failure.script
    const res = await attack.browser.get(`${attack.baseUrl}/me`, JSON_ACCEPT)
    t.equal(res.status, failure.status, `the route answers ${failure.status}`)
    t.equal(JSON.parse(res.body).code, failure.code)
    t.equal(attack.op.requests('/userinfo').length, 1, 'the userinfo endpoint was called once')
    t.equal(JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body).authenticated, true, 'the session is untouched')
  })
}

t.test('hostile OP: a userinfo endpoint slower than httpTimeout -> FST_OIDC_IDP_TIMEOUT within about the time-out', async (t) => {
  const attack = await startAttack(t, { app: { httpTimeout: 300 } })
  attack.op.onUserinfo = () => ({ delayMs: 5000 })
  const start = Date.now()
  await t.rejects(attack.app.oidc.client().userinfo('a-token'), { code: 'FST_OIDC_IDP_TIMEOUT', statusCode: 504 })
  const elapsed = Date.now() - start
  t.ok(elapsed >= 250 && elapsed < 1500, `rejected after ${elapsed} ms (time-out 300 ms)`)
})

t.test('hostile OP: a redirect from userinfo is not followed (the token is not sent elsewhere)', async (t) => {
  const attack = await startAttack(t)
  const elsewhere = await startHostileOp(t)
  attack.op.onUserinfo = () => ({ status: 302, headers: { location: elsewhere.url('/userinfo') }, body: '' })
  await t.rejects(attack.app.oidc.client().userinfo('a-token'), { code: 'FST_OIDC_IDP_UNREACHABLE', statusCode: 502 })
  t.equal(attack.op.requests('/userinfo').length, 1)
  t.same(elsewhere.log, [], 'nothing reached the redirect target')
})

t.test('an IdP without a userinfo endpoint: userinfo() rejects without a request', async (t) => {
  const op = await startHostileOp(t)
  delete op.metadata.userinfo_endpoint
  const { app } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  await t.rejects(app.oidc.client().userinfo('a-token'), { code: 'FST_OIDC_IDP_BAD_RESPONSE', statusCode: 502, message: /no userinfo endpoint/ })
  t.same(op.log.map((r) => r.path), ['/.well-known/openid-configuration'], 'only discovery reached the IdP')
})
