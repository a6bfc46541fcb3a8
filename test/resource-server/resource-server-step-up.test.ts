// Step-up at the resource server (RFC 9470): requireBearer({ acr, maxAge }) lets
// a JWT access token through only with an accepted `acr` and a recent enough
// `auth_time`; otherwise 401 with `Bearer realm="…", error="insufficient_user_authentication",
// error_description="…", acr_values="…", max_age=…`. The relying party's
// requireAuth({ accept: ['bearer'] }) answers the same. Tokens from the real IdP
// carry the login's acr and auth_time.
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { codeLogin } from '../helpers/code-login.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort, startProvider } from '../helpers/provider.js'
import { API_AUDIENCE, buildResourceServer, rawRequest, signAccessToken } from '../helpers/resource-server.js'

const MFA = 'urn:example:mfa'
const REALM = 'realm="https://api.example.test"'
const now = (): number => Math.floor(Date.now() / 1000)
const ACR_CHALLENGE = `Bearer ${REALM}, error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="${MFA}", max_age=300`
const AGE_CHALLENGE = `Bearer ${REALM}, error="insufficient_user_authentication", error_description="More recent authentication is required", acr_values="${MFA}", max_age=300`

t.jobs = 3

t.test('requireBearer({ acr, maxAge }): the token\'s acr and auth_time decide; RFC 9470 answers', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, {
    issuer: op.issuer,
    audience: API_AUDIENCE,
    routes: (app) => {
      app.get('/pay', { preHandler: app.requireBearer({ acr: [MFA], maxAge: 300 }) }, async (request) => ({ acr: request.oidc.user?.['acr'] }))
      app.get('/pay-admin', { preHandler: app.requireBearer({ scopes: ['api:admin'], acr: [MFA] }) }, async () => ({ ok: true }))
    }
  })
  const call = async (claims: Record<string, unknown>, path = '/pay'): Promise<{ status: number, challenge: unknown, body: Record<string, unknown> }> => {
    const res = await rawRequest(`${api.url}${path}`, { authorization: `Bearer ${await signAccessToken(op, claims)}` })
    return { status: res.status, challenge: res.headers['www-authenticate'], body: JSON.parse(res.body) as Record<string, unknown> }
  }

  const ok = await call({ acr: MFA, auth_time: now() - 30 })
  t.equal(ok.status, 200)
  t.same(ok.body, { acr: MFA })
  t.equal((await call({ acr: MFA, auth_time: now() - 330 })).status, 200, 'past maxAge within the clock tolerance')

  for (const [what, claims, challenge] of [
    ['a lower acr', { acr: 'urn:example:pwd', auth_time: now() }, ACR_CHALLENGE],
    ['no acr', { auth_time: now() }, ACR_CHALLENGE],
    ['an old auth_time', { acr: MFA, auth_time: now() - 3600 }, AGE_CHALLENGE],
    ['no auth_time', { acr: MFA }, AGE_CHALLENGE],
    ['an auth_time in the future', { acr: MFA, auth_time: now() + 600 }, AGE_CHALLENGE],
    ['an auth_time that is no number', { acr: MFA, auth_time: String(now()) }, AGE_CHALLENGE]
  ] as const) {
    const res = await call(claims)
    t.equal(res.status, 401, `${what}: 401`)
    t.equal(res.challenge, challenge, `${what}: the RFC 9470 challenge`)
    t.match(res.body, { statusCode: 401, code: 'FST_OIDC_STEP_UP_REQUIRED' }, `${what}: the code`)
  }
  const scope = await call({ acr: 'urn:example:pwd' }, '/pay-admin')
  t.equal(scope.status, 403, 'a missing scope is answered first')
  t.match(scope.challenge, 'error="insufficient_scope"')
})

t.test('requireBearer and requireAuth refuse acr / maxAge they cannot send at set-up', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, routes: () => {} })
  for (const options of [{ acr: [] }, { acr: 'urn:x' }, { acr: ['two words'] }, { acr: ['"quoted"'] }, { maxAge: -1 }, { maxAge: 1.5 }, { maxAge: '300' }]) {
    t.throws(() => api.app.requireBearer(options as never), { code: 'FST_OIDC_CONFIG_INVALID' }, JSON.stringify(options))
  }
  const rp = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, resourceServer: { audience: API_AUDIENCE } })
  t.throws(() => rp.app.requireAuth({ acr: ['a', 'b b'], maxAge: -5 }), { code: 'FST_OIDC_CONFIG_INVALID', message: /requireAuth acr[\s\S]*requireAuth maxAge/ })
})

t.test('requireAuth({ accept: [\'bearer\'], acr, maxAge }) in the relying party: the same answer, with its realm', async (t) => {
  const op = await startHostileOp(t)
  const { baseUrl } = await buildApp(t, {
    port: await freePort(),
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    resourceServer: { audience: API_AUDIENCE },
    routes: (app) => {
      app.get('/pay', { preHandler: app.requireAuth({ accept: ['session', 'bearer'], acr: [MFA], maxAge: 300 }) }, async (request) => ({ via: request.oidc.via }))
    }
  })
  const send = async (claims: Record<string, unknown>): Promise<{ status: number, challenge: unknown }> => {
    const res = await rawRequest(`${baseUrl}/pay`, { authorization: `Bearer ${await signAccessToken(op, claims)}`, accept: 'text/html' })
    return { status: res.status, challenge: res.headers['www-authenticate'] }
  }
  t.same(await send({ acr: MFA, auth_time: now() }), { status: 200, challenge: undefined })
  t.same(await send({ acr: 'urn:example:pwd', auth_time: now() }), { status: 401, challenge: ACR_CHALLENGE }, 'a bearer caller is never redirected')
})

t.test('the real IdP: JWT access tokens carry the login\'s acr and auth_time', async (t) => {
  const appBaseUrl = `http://127.0.0.1:${await freePort()}`
  const idp = await startProvider(t, { appBaseUrl, acrValues: ['urn:example:pwd', MFA], jwtAccessTokens: { audience: API_AUDIENCE, scope: 'api:read' } })
  const api = await buildResourceServer(t, {
    issuer: idp.issuer,
    audience: API_AUDIENCE,
    routes: (app) => {
      app.get('/pay', { preHandler: app.requireBearer({ acr: [MFA], maxAge: 300 }) }, async (request) => ({ acr: request.oidc.user?.['acr'] }))
    }
  })
  const browser = new Browser()
  const tokenFor = async (acrValues?: string): Promise<{ access_token: string, refresh_token: string }> =>
    await codeLogin(idp, appBaseUrl, { browser, ...(acrValues === undefined ? {} : { params: { acr_values: acrValues } }) })
  const pay = async (token: string): Promise<{ status: number, challenge: unknown }> => {
    const res = await rawRequest(`${api.url}/pay`, { authorization: `Bearer ${token}` })
    return { status: res.status, challenge: res.headers['www-authenticate'] }
  }
  const password = await pay((await tokenFor()).access_token)
  t.same(password, { status: 401, challenge: ACR_CHALLENGE }, 'a password login: 401 insufficient_user_authentication')
  const mfa = await tokenFor(MFA)
  t.same(await pay(mfa.access_token), { status: 200, challenge: undefined }, 'after a login asking for the level: 200')
  const refreshed = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${idp.client.clientId}:${idp.client.clientSecret!}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: mfa.refresh_token })
  }).then(async (res) => await res.json() as { access_token: string })
  t.same(await pay(refreshed.access_token), { status: 200, challenge: undefined }, 'a refreshed access token keeps the login\'s acr and auth_time')
})
