// Endpoint URLs whose path starts with `//` (issue 11, point 3): glewlwyd with
// Debian's default `external_url` advertises `http://localhost:4593//api/oidc/auth`.
// Such an endpoint is kept as the absolute URL it is — never rebuilt with
// `new URL(path, origin)`, which reads `//api/...` as a host — for the login
// redirect, the token request (which carries the client secret), userinfo,
// revocation, logout and the resource server's keys; the issuer has a trailing slash.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken } from '../helpers/resource-server.js'

const PREFIX = '//api/oidc'

t.test('a whole login, userinfo and logout against an IdP whose endpoints have // paths and a trailing-slash issuer', async (t) => {
  const op = await startHostileOp(t, { endpointPrefix: PREFIX, issuerPath: '/' })
  const origin = op.issuer.slice(0, -1)
  t.equal(op.metadata.token_endpoint, `${origin}//api/oidc/token`, 'the IdP advertises // paths')
  const routes = (app: FastifyInstance): void => {
    app.get('/me', { preHandler: app.requireAuth() }, async (request) => await app.oidc.client().userinfo(await request.oidc.accessToken()))
  }
  const { baseUrl, events } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, routes })
  const browser = new Browser()

  const final = await browser.follow(`${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.hops[0]!.status, 302)
  t.ok(final.hops[0]!.location!.startsWith(`${origin}//api/oidc/authorize?`), 'the browser is sent to the advertised authorization endpoint, not to host "api"')
  t.equal(final.status, 200)
  t.same(JSON.parse(final.body), { sub: 'alice', roles: ['user'] })
  t.same(events.map((e) => e.type), ['login'])

  const [tokenRequest, ...more] = op.requests('/token')
  t.equal(more.length, 0)
  t.equal(tokenRequest!.rawPath, '//api/oidc/token', 'the code and the secret went to the token endpoint\'s own path')
  t.equal(tokenRequest!.headers.authorization, `Basic ${Buffer.from(`${op.clientId}:${op.clientSecret!}`).toString('base64')}`)
  t.equal(op.requests('/jwks')[0]!.rawPath, '//api/oidc/jwks')

  const me = await browser.get(`${baseUrl}/me`, { accept: 'application/json' })
  t.equal(me.status, 200)
  t.equal(JSON.parse(me.body).sub, 'alice')
  t.equal(op.requests('/userinfo')[0]?.rawPath, '//api/oidc/userinfo')

  const logout = await browser.request('POST', `${baseUrl}/auth/logout`)
  t.equal(logout.status, 302)
  t.ok(logout.headers.get('location')!.startsWith(`${origin}//api/oidc/logout?`), 'the browser is sent to the advertised end-session endpoint')
  t.equal(op.requests('/revoke')[0]?.rawPath, '//api/oidc/revoke', 'the refresh token was revoked at the advertised endpoint')
  t.equal(op.log.filter((r) => !r.rawPath.startsWith(PREFIX) && r.path !== '/.well-known/openid-configuration').length, 0, 'no call lost its // path')
})

t.test('oidcResourceServer starts and verifies against // endpoints and a trailing-slash issuer', async (t) => {
  const op = await startHostileOp(t, { endpointPrefix: PREFIX, issuerPath: '/' })
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE })
  const res = await fetch(`${api.url}/api`, { headers: { authorization: `Bearer ${await signAccessToken(op)}` } })
  t.equal(res.status, 200)
  t.same(op.requests('/jwks').map((r) => r.rawPath), ['//api/oidc/jwks'])
})

t.test('the relying party\'s bearer path verifies against // endpoints', async (t) => {
  const op = await startHostileOp(t, { endpointPrefix: PREFIX, issuerPath: '/' })
  const routes = (app: FastifyInstance): void => {
    app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
  }
  const { baseUrl } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, resourceServer: { audience: API_AUDIENCE }, routes })
  const res = await fetch(`${baseUrl}/api`, { headers: { authorization: `Bearer ${await signAccessToken(op)}` } })
  t.equal(res.status, 200)
  t.same(await res.json(), { sub: 'alice' })
})

t.test('split horizon: only the origin of a // endpoint is swapped', async (t) => {
  const op = await startHostileOp(t, { endpointPrefix: PREFIX, issuerPath: '/' })
  const publicIssuer = 'https://idp.example.test/'
  op.metadata.issuer = publicIssuer
  op.metadata.jwks_uri = 'https://idp.example.test//api/oidc/jwks'
  const api = await buildResourceServer(t, { issuer: publicIssuer, audience: API_AUDIENCE, env: { OIDC_DISCOVERY_URL: op.issuer } })
  const res = await fetch(`${api.url}/api`, { headers: { authorization: `Bearer ${await signAccessToken(op, { iss: publicIssuer })}` } })
  t.equal(res.status, 200)
  t.same(op.requests('/jwks').map((r) => r.rawPath), ['//api/oidc/jwks'], 'fetched from the internal origin, path kept')
})
