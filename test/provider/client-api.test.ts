// `fastify.oidc.client(name?)`: the one configured provider is `default`, reached
// with or without its name; any other name is FST_OIDC_UNKNOWN_PROVIDER. Its
// `logoutUrl()` is the IdP's end-session URL, or the post-logout URI when the IdP
// has no end-session endpoint (and /auth/logout then goes straight there).
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

t.test('client() and client("default") are the same client; an unknown name throws FST_OIDC_UNKNOWN_PROVIDER', async (t) => {
  const op = await startHostileOp(t)
  const { app } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  const client = app.oidc.client()
  t.equal(client.name, 'default')
  t.equal(app.oidc.client('default'), client, 'same object by name')
  t.throws(() => app.oidc.client('nope'), { code: 'FST_OIDC_UNKNOWN_PROVIDER', statusCode: 400, message: /"nope"/ })
  t.throws(() => app.oidc.client(''), { code: 'FST_OIDC_UNKNOWN_PROVIDER' }, 'an empty name is not the default either')
})

t.test('logoutUrl(): the end-session endpoint with id_token_hint, post_logout_redirect_uri and client_id', async (t) => {
  const op = await startHostileOp(t)
  const { app, baseUrl } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  const url = new URL(app.oidc.client().logoutUrl('an.id.token'))
  t.equal(`${url.origin}${url.pathname}`, op.url('/logout'))
  t.same(Object.fromEntries(url.searchParams), { id_token_hint: 'an.id.token', post_logout_redirect_uri: `${baseUrl}/`, client_id: op.clientId })
  t.notOk(new URL(app.oidc.client().logoutUrl()).searchParams.has('id_token_hint'), 'no hint without an ID token')
})

t.test('an IdP without end_session_endpoint: logoutUrl() is the post-logout URI, and /auth/logout redirects there', async (t) => {
  const op = await startHostileOp(t)
  delete op.metadata.end_session_endpoint
  const { app, baseUrl, events } = await buildApp(t, {
    port: await freePort(),
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    postLogoutRedirectUri: 'http://127.0.0.1:1/bye'
  })
  t.equal(app.oidc.client().logoutUrl('an.id.token'), 'http://127.0.0.1:1/bye', 'the configured post-logout URI, no hint appended')

  const browser = new Browser()
  const login = await browser.follow(`${baseUrl}/auth/login?returnTo=/public`, { stopAt: (url) => url.origin === baseUrl && url.pathname === '/public' })
  t.equal(login.stoppedAt, `${baseUrl}/public`, 'logged in')
  const res = await browser.get(`${baseUrl}/auth/logout`)
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), 'http://127.0.0.1:1/bye', 'straight to the post-logout URI')
  t.same(events.map((e) => e.type), ['login', 'logout'])
  t.equal(JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body).authenticated, false, 'the session is gone')
  t.same(op.requests('/logout'), [], 'the IdP saw no logout request')
})
