// OIDC_PRESET=github: GitHub is OAuth 2 only. No discovery, no ID token, no nonce;
// the user is whom GitHub's REST API (`/user`, asked with the access token as a
// Bearer header) says the token belongs to, `sub` being the numeric id as a
// string. The hostile OP plays GitHub's authorize, token and API endpoints (set
// with the endpoint overrides); logout is local; GitHub's 200 error answers are
// errors; no back-channel logout.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { OidcTokenSet } from '../../lib/index.js'
import { Browser } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { answerAuthorize } from '../helpers/stand-in.js'

const OCTOCAT = {
  login: 'octocat',
  id: 583231,
  node_id: 'MDQ6VXNlcjU4MzIzMQ==',
  avatar_url: 'https://avatars.githubusercontent.com/u/583231?v=4',
  html_url: 'https://github.com/octocat',
  type: 'User',
  site_admin: false,
  name: 'The Octocat',
  company: '@github',
  email: null
}

/** `/has-id-token`: whether the session's token set holds an ID token (never the token); `/signin-repo`: a login asking for more. */
function idTokenRoute (app: FastifyInstance): void {
  app.get('/signin-repo', async (request, reply) => await app.oidc.client().authorizeRedirect(request, reply, { extra: { scope: 'read:user repo' } }))
  app.get('/has-id-token', { preHandler: app.requireAuth() }, async (request) =>
    ({ idToken: (request.oidc as unknown as { payload: { tokens: OidcTokenSet } }).payload.tokens.idToken !== undefined }))
}

async function github (t: Test): Promise<{ op: HostileOp, app: TestApp }> {
  const op = await startHostileOp(t)
  // GitHub's token answer: no id_token, no expiry, a comma-separated scope.
  op.onToken = async (ctx) => ctx.error !== undefined ? undefined : { body: { access_token: ctx.accessToken, token_type: 'bearer', scope: 'read:user,user:email' } }
  op.onUserinfo = (ctx) => ctx.valid ? { body: OCTOCAT } : undefined
  const app = await buildApp(t, {
    port: await freePort(),
    routes: idTokenRoute,
    env: {
      OIDC_PRESET: 'github',
      OIDC_CLIENT_ID: op.clientId,
      OIDC_CLIENT_SECRET: op.clientSecret!,
      OIDC_AUTHORIZATION_ENDPOINT: op.url('/login/oauth/authorize'),
      OIDC_TOKEN_ENDPOINT: op.url('/token'),
      OIDC_USERINFO_ENDPOINT: op.url('/userinfo')
    }
  })
  return { op, app }
}

/** Starts a login and answers it as GitHub would; resolves to the callback answer. */
async function login (op: HostileOp, app: TestApp, browser = new Browser()): Promise<{ status: number, location: URL, browser: Browser, body: string }> {
  const start = await browser.get(`${app.baseUrl}/auth/login`)
  const location = new URL(start.headers.get('location')!)
  const res = await browser.get(answerAuthorize(op, location.href))
  return { status: res.status, location, browser, body: res.body }
}

t.test('a GitHub login: no nonce, the user from the API, sub the numeric id', async (t) => {
  const { op, app } = await github(t)
  t.equal(op.log.length, 0, 'nothing is discovered')
  const { status, location, browser } = await login(op, app)
  t.equal(`${location.origin}${location.pathname}`, op.url('/login/oauth/authorize'))
  t.equal(location.searchParams.get('scope'), 'read:user user:email')
  t.equal(location.searchParams.get('nonce'), null, 'no ID token carries a nonce back')
  t.equal(location.searchParams.get('code_challenge_method'), 'S256')
  t.equal(status, 302)
  const [exchange] = op.requests('/token')
  t.match(exchange, { body: { client_id: op.clientId, client_secret: op.clientSecret } }, 'client credentials in the body')
  t.equal(exchange?.headers.authorization, undefined)

  const [api] = op.requests('/userinfo')
  t.match(api?.headers, { authorization: /^Bearer \S+$/, accept: 'application/vnd.github+json', 'user-agent': 'fastify-oidc' })
  t.same(Object.keys(api?.query ?? {}), [], 'the token never in the query string')
  const session = await browser.get(`${app.baseUrl}/auth/session`)
  t.same(JSON.parse(session.body).user, {
    sub: '583231',
    preferred_username: 'octocat',
    name: 'The Octocat',
    picture: OCTOCAT.avatar_url,
    profile: OCTOCAT.html_url
  }, 'standard claims; the private (null) email left out')
  t.same(app.events.map((e) => [e.type, e.sub]), [['login', '583231']])

  const logout = await browser.request('POST', `${app.baseUrl}/auth/logout`)
  t.equal(logout.headers.get('location'), `${app.baseUrl}/`, 'local logout')
  t.equal(op.requests('/revoke').length, 0, 'nothing to revoke at')
})

t.test('an ID token GitHub would send is not kept (nothing validates it)', async (t) => {
  const { op, app } = await github(t)
  op.onToken = async (ctx) => ({ body: { access_token: ctx.accessToken, token_type: 'bearer', id_token: await ctx.sign({ ...ctx.defaultClaims(), sub: 'mallory' }) } })
  const { status, browser } = await login(op, app)
  t.equal(status, 302)
  const session = await browser.get(`${app.baseUrl}/auth/session`)
  t.equal(JSON.parse(session.body).user.sub, '583231', 'the user is the API\'s')
  const stored = await browser.get(`${app.baseUrl}/has-id-token`, { accept: 'application/json' })
  t.same(JSON.parse(stored.body), { idToken: false })
})

t.test('an extra scope is GitHub\'s own: no openid is added', async (t) => {
  const { app } = await github(t)
  const res = await fetch(`${app.baseUrl}/signin-repo`, { redirect: 'manual' })
  t.equal(new URL(res.headers.get('location')!).searchParams.get('scope'), 'read:user repo')
})

t.test('GitHub answers errors with HTTP 200: 401 FST_OIDC_IDP_ERROR, no session', async (t) => {
  const { op, app } = await github(t)
  op.onToken = () => ({ body: { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' } })
  const { status, body } = await login(op, app)
  t.equal(status, 401)
  t.match(JSON.parse(body), { code: 'FST_OIDC_IDP_ERROR', message: /bad_verification_code/ })
  t.same(app.events.map((e) => [e.type, e.reason]), [['login_failure', 'token_error']])
})

t.test('an API answer without a numeric id: 502, no session', async (t) => {
  const { op, app } = await github(t)
  op.onUserinfo = () => ({ body: { ...OCTOCAT, id: '583231' } })
  const { status, body } = await login(op, app)
  t.equal(status, 502)
  t.match(JSON.parse(body), { code: 'FST_OIDC_IDP_BAD_RESPONSE' })
  t.same(app.events.map((e) => [e.type, e.reason]), [['login_failure', 'userinfo_error']])
})

t.test('no back-channel logout from GitHub: 400', async (t) => {
  const { op, app } = await github(t)
  const token = await op.signIdToken({ iss: 'https://github.com', aud: op.clientId, iat: Math.floor(Date.now() / 1000), jti: 'x', sub: '583231', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
  const res = await fetch(`${app.baseUrl}/auth/backchannel-logout`, { method: 'POST', body: new URLSearchParams({ logout_token: token }) })
  t.equal(res.status, 400)
  t.match(await res.json(), { code: 'FST_OIDC_LOGOUT_TOKEN_INVALID' })
})
