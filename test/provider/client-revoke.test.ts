// `fastify.oidc.client().revoke(token, hint)` (RFC 7009): resolves true once the
// IdP revoked the token (against the real IdP the token then stops working), false
// without sending anything when the IdP has no revocation endpoint, and rejects
// with a plugin error when the revocation endpoint fails — which, at
// /auth/logout, is logged and does not stop the logout.
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { recordIssuedTokens, useRefreshToken } from '../helpers/issued-tokens.js'
import { freePort, startProvider } from '../helpers/provider.js'

t.jobs = 4

t.test('real IdP: revoke(refreshToken) resolves true and the refresh token is dead', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const issued = recordIssuedTokens(idp)
  const { app, baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  const login = await loginAtProvider(new Browser(), `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(login.status, 200, 'logged in')
  const refreshToken = issued[0]?.refreshToken
  t.ok(refreshToken, 'the IdP issued a refresh token')

  t.equal(await app.oidc.client().revoke(refreshToken!), true, 'resolves true')
  const revocations = idp.log.filter((e) => e.path === '/token/revocation')
  t.same(revocations.map((e) => [e.method, e.status]), [['POST', 200]], 'one revocation request, granted')
  t.same(await useRefreshToken(idp, refreshToken!), { status: 400, error: 'invalid_grant' }, 'the refresh token no longer works')
})

t.test('real IdP: revoke(accessToken, "access_token") resolves true and userinfo refuses the token', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const issued = recordIssuedTokens(idp)
  const { app, baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  await loginAtProvider(new Browser(), `${baseUrl}/auth/login`)
  const accessToken = issued[0]!.accessToken
  const client = app.oidc.client()
  t.equal((await client.userinfo(accessToken)).sub, 'demo', 'the access token works at userinfo')

  t.equal(await client.revoke(accessToken, 'access_token'), true, 'resolves true')
  await t.rejects(client.userinfo(accessToken), { code: 'FST_OIDC_IDP_ERROR', statusCode: 401 }, 'userinfo now refuses it')
})

t.test('hostile OP: the revocation request carries the token, its hint and the client credentials', async (t) => {
  const attack = await startAttack(t)
  t.equal(await attack.app.oidc.client().revoke('a-refresh-token'), true, 'an empty 200 answer means revoked')
  const [request, ...more] = attack.op.requests('/revoke')
  t.equal(more.length, 0, 'one request')
  t.equal(request?.method, 'POST')
  t.same(request?.body, { token: 'a-refresh-token', token_type_hint: 'refresh_token' })
  t.equal(request?.headers.authorization, `Basic ${Buffer.from('test-client:test-secret').toString('base64')}`, 'client_secret_basic')
  t.same(request?.query, {}, 'nothing in the query string')
})

t.test('/auth/logout with a working revocation endpoint revokes the refresh token and logs no failure', async (t) => {
  const attack = await startAttack(t)
  let issuedRefreshToken: string | undefined
  scriptToken(attack, (ctx) => {
    issuedRefreshToken = ctx.refreshToken
    return undefined
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const res = await attack.browser.get(`${attack.baseUrl}/auth/logout`)
  t.equal(res.status, 302)
  t.same(attack.op.requests('/revoke').map((r) => r.body), [{ token: issuedRefreshToken, token_type_hint: 'refresh_token' }], 'the issued refresh token was revoked')
  const warnings = attack.logs.filter((l) => l.includes('revocation failed'))
  t.same(warnings, [], 'no "revocation failed" warning for an empty 200 answer')
})

t.test('no revocation endpoint: revoke() resolves false and sends nothing; logout still works', async (t) => {
  const op = await startHostileOp(t)
  delete op.metadata.revocation_endpoint
  const { app, baseUrl, events } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  const calls = (): string[] => op.log.filter((r) => r.path !== '/.well-known/openid-configuration').map((r) => `${r.method} ${r.path}`)

  t.equal(await app.oidc.client().revoke('a-refresh-token'), false, 'resolves false')
  t.same(calls(), [], 'no request reached the IdP (not even its token endpoint)')

  const browser = new Browser()
  const login = await browser.follow(`${baseUrl}/auth/login`, { stopAt: (url) => url.origin === baseUrl && url.pathname === '/' })
  t.equal(login.stoppedAt, `${baseUrl}/`, 'logged in')
  const res = await browser.get(`${baseUrl}/auth/logout`)
  t.equal(res.status, 302)
  t.ok(res.headers.get('location')?.startsWith(`${op.issuer}/logout?`), 'to the end-session endpoint')
  t.same(calls(), ['GET /authorize', 'POST /token', 'GET /jwks'], 'nothing was sent to revoke the refresh token')
  t.same(events.map((e) => e.type), ['login', 'logout'])
  t.equal(JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body).authenticated, false, 'the session is gone')
})

t.test('revocation endpoint answers 500: revoke() rejects with a plugin error', async (t) => {
  const attack = await startAttack(t)
  attack.op.onRevoke = () => ({ status: 500, body: { error: 'server_error', error_description: 'database down' } })
  await t.rejects(attack.app.oidc.client().revoke('a-refresh-token'), { code: 'FST_OIDC_IDP_BAD_RESPONSE', statusCode: 502 })
  t.equal(attack.op.requests('/revoke').length, 1, 'the request was made')
})

t.test('revocation endpoint refuses the client (401 invalid_client): revoke() rejects with FST_OIDC_IDP_ERROR', async (t) => {
  const attack = await startAttack(t)
  attack.op.onRevoke = () => ({ status: 401, body: { error: 'invalid_client', error_description: 'who are you' } })
  await t.rejects(attack.app.oidc.client().revoke('a-refresh-token'), { code: 'FST_OIDC_IDP_ERROR', statusCode: 401, message: /invalid_client/ })
})

t.test('/auth/logout when revocation fails: still 302 to end-session, the session is gone, the failure is logged', async (t) => {
  const attack = await startAttack(t)
  attack.op.onRevoke = () => ({ status: 500, body: { error: 'server_error' } })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  t.ok(sid, 'a session cookie')

  const res = await attack.browser.get(`${attack.baseUrl}/auth/logout`)
  t.equal(res.status, 302, 'the logout is not stopped')
  const location = new URL(res.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, `${attack.op.issuer}/logout`, 'to the end-session endpoint')
  t.ok(location.searchParams.get('id_token_hint'), 'with the id_token_hint')
  t.equal(attack.op.requests('/revoke').length, 1, 'revocation was attempted')
  t.ok(attack.op.requests('/revoke')[0]?.body['token'], 'with the refresh token')

  const session = await fetch(`${attack.baseUrl}/auth/session`, { headers: { cookie: `oidc.sid=${sid}` } })
  t.equal((await session.json() as { authenticated: boolean }).authenticated, false, 'the old session cookie authenticates nothing')
  t.same(attack.events.map((e) => e.type), ['login', 'logout'], 'one logout event')

  const warnings = attack.logs.map((l) => JSON.parse(l) as { msg?: string, code?: string })
    .filter((l) => l.msg === 'oidc logout: refresh token revocation failed')
  t.same(warnings.map((w) => w.code), ['FST_OIDC_IDP_BAD_RESPONSE'], 'the failure is logged with its code')
  const refreshToken = attack.op.requests('/revoke')[0]!.body['token']!
  t.notOk(attack.logs.some((l) => l.includes(refreshToken)), 'the refresh token is not logged')
})
