// The test harness on its own, without the library: a hand-made relying
// party (a bare node:http server) goes through the authorization code flow
// with PKCE, refresh and RP-initiated logout against the dev provider.
import { createServer } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { Browser, loginAtProvider, logoutAtProvider, parseForms } from './helpers/browser.js'
import { freePort, startProvider } from './helpers/provider.js'
import type { Teardownable } from './helpers/provider.js'
import { quietly, startDevIdp } from '../lib/dev-idp.js'

interface Discovery {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  userinfo_endpoint: string
  jwks_uri: string
  end_session_endpoint: string
  introspection_endpoint: string
  authorization_response_iss_parameter_supported: boolean
  code_challenge_methods_supported: string[]
}

interface TokenResponse {
  access_token: string
  token_type: string
  expires_in: number
  id_token?: string
  refresh_token?: string
  scope: string
  error?: string
}

interface Seen {
  method: string
  url: URL
  body: string
}

// The relying party: records what reaches it and answers 200.
async function startRp (t: Teardownable, port: number): Promise<Seen[]> {
  const seen: Seen[] = []
  const read = async (req: IncomingMessage): Promise<string> => {
    let body = ''
    for await (const chunk of req) body += String(chunk)
    return body
  }
  const server = createServer((req, res) => {
    read(req).then((body) => {
      seen.push({ method: req.method ?? '', url: new URL(req.url ?? '/', `http://127.0.0.1:${port}`), body })
      res.setHeader('content-type', 'text/plain')
      res.end(`rp saw ${req.method} ${req.url}`)
    }, (err: unknown) => {
      res.statusCode = 500
      res.end(String(err))
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  }))
  return seen
}

const b64url = (bytes: Buffer): string => bytes.toString('base64url')

function basicAuth (id: string, secret: string): string {
  // RFC 6749 2.3.1: form-urlencode both before base64.
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`
}

// Assertion message: short when fine, the error body when not.
function why (res: { status: number, body: TokenResponse }): string {
  return res.status === 200 ? 'token endpoint answered 200' : JSON.stringify(res.body)
}

async function tokenRequest (discovery: Discovery, auth: string, params: Record<string, string>): Promise<{ status: number, body: TokenResponse }> {
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params)
  })
  return { status: res.status, body: await res.json() as TokenResponse }
}

t.test('authorization code + PKCE, refresh and RP-initiated logout against the dev IdP', async (t) => {
  const rpPort = await freePort()
  const rpBase = `http://127.0.0.1:${rpPort}`
  const seen = await startRp(t, rpPort)
  const idp = await startProvider(t, {
    redirectUri: `${rpBase}/cb`,
    postLogoutRedirectUri: `${rpBase}/signed-out`,
    backchannelLogoutUri: `${rpBase}/backchannel`
  })
  const { clientId, clientSecret, redirectUri, postLogoutRedirectUri } = idp.client
  t.equal(clientSecret, 'test-secret')
  const auth = basicAuth(clientId, clientSecret ?? '')
  t.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)

  const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json() as Discovery
  t.equal(discovery.issuer, idp.issuer)
  t.equal(discovery.authorization_response_iss_parameter_supported, true, 'RFC 9207 iss advertised')
  t.same(discovery.code_challenge_methods_supported, ['S256'])

  // --- authorization request, built by hand
  const state = b64url(randomBytes(16))
  const nonce = b64url(randomBytes(16))
  const verifier = b64url(randomBytes(32))
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const authorize = new URL(discovery.authorization_endpoint)
  authorize.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: redirectUri,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256'
  }).toString()

  // PKCE is required: the same request without a challenge is refused.
  const noPkce = new URL(authorize)
  noPkce.searchParams.delete('code_challenge')
  noPkce.searchParams.delete('code_challenge_method')
  const refused = await new Browser().follow(noPkce)
  const refusedAt = new URL(refused.url)
  t.equal(refusedAt.origin + refusedAt.pathname, redirectUri, 'error goes back to the client')
  t.equal(refusedAt.searchParams.get('error'), 'invalid_request')
  t.match(refusedAt.searchParams.get('error_description') ?? '', /PKCE/)
  seen.length = 0

  const browser = new Browser()
  const done = await loginAtProvider(browser, authorize)
  t.equal(done.status, 200)
  t.equal(done.body, `rp saw GET ${new URL(done.url).pathname}${new URL(done.url).search}`)
  const posts = done.hops.filter((h) => h.url.startsWith(`${idp.issuer}/interaction/`) && h.location !== null)
  t.equal(posts.length, 2, 'submitted the login form and the consent form')
  t.equal(browser.jar.getCookiesSync(idp.issuer).some((c) => c.key === 'op_session'), true, 'provider session cookie kept')

  t.equal(seen.length, 1, 'the RP callback was hit once')
  const callback = seen[0]!.url
  t.equal(callback.origin + callback.pathname, redirectUri)
  t.equal(callback.searchParams.get('state'), state)
  t.equal(callback.searchParams.get('iss'), idp.issuer, 'RFC 9207 iss in the response')
  const code = callback.searchParams.get('code')
  t.ok(code, 'got a code')

  // --- code exchange (client_secret_basic), with the wrong verifier first
  const badVerifier = await tokenRequest(discovery, auth, {
    grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri, code_verifier: b64url(randomBytes(32))
  })
  t.equal(badVerifier.status, 400)
  t.equal(badVerifier.body.error, 'invalid_grant')
  // oidc-provider does not consume the code on a PKCE mismatch, so the
  // right verifier still works.
  const tokens = await tokenRequest(discovery, auth, {
    grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri, code_verifier: verifier
  })
  t.equal(tokens.status, 200, why(tokens))
  t.equal(tokens.body.token_type, 'Bearer')
  t.equal(tokens.body.expires_in, 3600)
  t.ok(tokens.body.refresh_token, 'refresh token issued without offline_access')
  t.equal(idp.countGrants('authorization_code'), 2)

  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri))
  const idToken = tokens.body.id_token!
  t.equal(decodeProtectedHeader(idToken).alg, 'RS256')
  const { payload } = await jwtVerify(idToken, jwks, { issuer: idp.issuer, audience: clientId })
  t.equal(payload.iss, idp.issuer)
  t.equal(payload.aud, clientId)
  t.equal(payload.nonce, nonce)
  t.equal(payload.sub, 'demo')
  t.equal(payload['email'], 'demo@example.com')
  t.equal(payload['email_verified'], true)
  t.equal(payload['name'], 'Demo')
  t.same(payload['roles'], ['user'], 'roles claim in the ID token')
  t.equal(payload.exp! - payload.iat!, 3600)

  const userinfo = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.body.access_token}` } })
  t.equal(userinfo.status, 200)
  t.match(await userinfo.json(), { sub: 'demo', email: 'demo@example.com' })

  // --- refresh (no rotation by default: the same refresh token comes back)
  const refreshed = await tokenRequest(discovery, auth, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! })
  t.equal(refreshed.status, 200, why(refreshed))
  t.not(refreshed.body.access_token, tokens.body.access_token, 'new access token')
  t.equal(refreshed.body.refresh_token, tokens.body.refresh_token, 'refresh token not rotated')
  const refreshedId = await jwtVerify(refreshed.body.id_token!, jwks, { issuer: idp.issuer, audience: clientId })
  t.equal(refreshedId.payload.sub, 'demo')
  t.equal(idp.countGrants('refresh_token'), 1)

  const introspection = await fetch(discovery.introspection_endpoint, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshed.body.access_token })
  })
  t.match(await introspection.json(), { active: true, sub: 'demo', client_id: clientId })

  // --- RP-initiated logout
  seen.length = 0
  const endSession = new URL(discovery.end_session_endpoint)
  endSession.search = new URLSearchParams({
    id_token_hint: idToken,
    post_logout_redirect_uri: postLogoutRedirectUri,
    state: 'bye'
  }).toString()
  const out = await logoutAtProvider(browser, endSession)
  t.equal(out.status, 200)
  t.equal(out.url, `${postLogoutRedirectUri}?state=bye`, 'browser reached the post-logout URI')
  t.ok(out.hops.some((h) => h.url === `${idp.issuer}/session/end/confirm` && h.status === 303), 'confirmation form posted')
  t.equal(browser.jar.getCookiesSync(idp.issuer).some((c) => c.key === 'op_session'), false, 'provider session cookie cleared')

  const backchannel = seen.find((s) => s.method === 'POST' && s.url.pathname === '/backchannel')
  t.ok(backchannel, 'back-channel logout reached the RP on 127.0.0.1')
  const logoutToken = new URLSearchParams(backchannel?.body ?? '').get('logout_token') ?? ''
  const logout = await jwtVerify(logoutToken, jwks, { issuer: idp.issuer, audience: clientId })
  t.equal(logout.payload.sub, 'demo')
  t.ok((logout.payload['events'] as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout'])

  // Logout revoked the grant: the refresh token is dead.
  const afterLogout = await tokenRequest(discovery, auth, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! })
  t.equal(afterLogout.status, 400)
  t.equal(afterLogout.body.error, 'invalid_grant')
  t.equal(idp.countGrants('refresh_token'), 2, 'failed grants are counted too')

  // A new login needs the login form again.
  const again = await browser.follow(authorize, { stopAt: (url) => url.href.startsWith(redirectUri) })
  t.equal(again.stoppedAt, undefined)
  t.equal(parseForms(again.body, again.url)[0]?.fields['prompt'], 'login')
})

t.test('log, accounts, TTL options and a public client', async (t) => {
  const appBaseUrl = `http://127.0.0.1:${await freePort()}`
  const idp = await startProvider(t, {
    appBaseUrl,
    publicClient: true,
    accessTokenTtl: 120,
    rotateRefreshToken: true,
    accounts: { alice: { name: 'Alice Admin', roles: ['user', 'admin'] } }
  })
  t.same(idp.client, {
    clientId: 'test-app',
    clientSecret: undefined,
    redirectUri: `${appBaseUrl}/auth/callback`,
    postLogoutRedirectUri: `${appBaseUrl}/`
  })
  const verifier = b64url(randomBytes(32))
  const authorize = new URL(`${idp.issuer}/auth`)
  authorize.search = new URLSearchParams({
    client_id: 'test-app',
    response_type: 'code',
    scope: 'openid roles',
    redirect_uri: idp.client.redirectUri,
    state: 's1',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256'
  }).toString()

  // Nothing listens at the app's URL: stop before requesting the callback.
  const browser = new Browser()
  const done = await loginAtProvider(browser, authorize, {
    login: 'alice',
    stopAt: (url) => url.origin === appBaseUrl
  })
  t.ok(done.stoppedAt, 'stopped before the app')
  const callback = new URL(done.stoppedAt!)
  t.equal(callback.pathname, '/auth/callback')
  t.equal(callback.searchParams.get('state'), 's1')

  // As a browser app would call it (CORS): a public client's token requests come with an Origin.
  const token = async (params: Record<string, string>): Promise<{ status: number, body: TokenResponse }> => {
    const res = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: appBaseUrl },
      body: new URLSearchParams({ client_id: 'test-app', ...params })
    })
    t.equal(res.headers.get('access-control-allow-origin'), appBaseUrl, 'CORS allowed for the client')
    return { status: res.status, body: await res.json() as TokenResponse }
  }
  const tokens = await token({
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: idp.client.redirectUri,
    code_verifier: verifier
  })
  t.equal(tokens.status, 200, why(tokens))
  t.equal(tokens.body.expires_in, 120)
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`))
  const { payload } = await jwtVerify(tokens.body.id_token!, jwks, { issuer: idp.issuer, audience: 'test-app' })
  t.equal(payload.sub, 'alice')
  t.same(payload['roles'], ['user', 'admin'], 'roles scope alone gives roles')
  t.equal(payload['name'], undefined, 'no profile scope, no name')

  // A public client may introspect its own tokens only.
  const introspect = await fetch(`${idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'test-app', token: tokens.body.access_token })
  })
  t.match(await introspect.json(), { active: true, client_id: 'test-app', sub: 'alice' })

  const rotated = await token({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! })
  t.equal(rotated.status, 200)
  t.ok(rotated.body.refresh_token)
  t.not(rotated.body.refresh_token, tokens.body.refresh_token, 'rotated')
  const replay = await token({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! })
  t.equal(replay.body.error, 'invalid_grant', 'old refresh token refused after rotation')
  t.equal(idp.countGrants('refresh_token'), 2)
  t.equal(idp.countGrants('authorization_code'), 1)

  const tokenEntries = idp.log.filter((e) => e.path === '/token')
  t.same(tokenEntries.map((e) => [e.method, e.grantType, e.status]), [
    ['POST', 'authorization_code', 200],
    ['POST', 'refresh_token', 200],
    ['POST', 'refresh_token', 400]
  ])
  t.ok(idp.log.some((e) => e.method === 'GET' && e.path === '/auth'), 'authorization request logged')
})

t.test('JWT access tokens for a resource indicator', async (t) => {
  const appBaseUrl = `http://127.0.0.1:${await freePort()}`
  const idp = await startProvider(t, {
    appBaseUrl,
    host: 'localhost',
    idTokenAlg: 'ES256',
    jwtAccessTokens: { audience: 'https://api.example.test' }
  })
  t.match(idp.issuer, /^http:\/\/localhost:\d+$/)
  const verifier = b64url(randomBytes(32))
  const authorize = new URL(`${idp.issuer}/auth`)
  authorize.search = new URLSearchParams({
    client_id: 'test-app',
    response_type: 'code',
    scope: 'openid email api:read',
    redirect_uri: idp.client.redirectUri,
    state: 's',
    resource: 'https://api.example.test',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256'
  }).toString()
  const done = await loginAtProvider(new Browser(), authorize, { stopAt: (url) => url.origin === appBaseUrl })
  const code = new URL(done.stoppedAt!).searchParams.get('code')!
  const res = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth('test-app', 'test-secret'), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: idp.client.redirectUri, code_verifier: verifier })
  })
  const tokens = await res.json() as TokenResponse
  t.equal(res.status, 200, why({ status: res.status, body: tokens }))
  t.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt')
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`))
  const at = await jwtVerify(tokens.access_token, jwks, { issuer: idp.issuer, audience: 'https://api.example.test', typ: 'at+jwt' })
  t.equal(at.payload.sub, 'demo')
  t.equal(at.payload['client_id'], 'test-app')
  t.equal(at.payload['scope'], 'api:read')
  const id = await jwtVerify(tokens.id_token!, jwks, { issuer: idp.issuer, audience: 'test-app' })
  t.equal(id.payload['email'], 'demo@example.com')
  t.equal(id.protectedHeader.alg, 'ES256', 'the client\'s id_token_signed_response_alg')
})

t.test('close() twice: the second one says the server is not running', async (t) => {
  const idp = await startDevIdp({ clients: [] })
  await idp.close()
  await t.rejects(idp.close(), { code: 'ERR_SERVER_NOT_RUNNING' })
})

t.test('an unknown resource indicator is refused (invalid_target)', async (t) => {
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${await freePort()}`, jwtAccessTokens: { audience: 'https://api.example.test' } })
  const authorize = new URL(`${idp.issuer}/auth`)
  authorize.search = new URLSearchParams({
    client_id: 'test-app',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: idp.client.redirectUri,
    state: 's',
    resource: 'https://other.example.test',
    code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
    code_challenge_method: 'S256'
  }).toString()
  const res = await new Browser().get(authorize)
  const location = new URL(res.headers.get('location') ?? 'http://x/')
  t.equal(location.searchParams.get('error') ?? (/invalid_target/.test(res.body) ? 'invalid_target' : res.body.slice(0, 200)), 'invalid_target')
})

t.test('quietly() drops only oidc-provider\'s notices', async (t) => {
  const seen: unknown[] = []
  const { warn } = console
  console.warn = (...args: unknown[]) => { seen.push(args[0]) }
  t.teardown(() => { console.warn = warn })
  await quietly(true, () => { console.warn('oidc-provider WARNING: a notice'); console.warn('the app speaks') })
  await quietly(false, () => { console.warn('oidc-provider WARNING: kept when not quiet') })
  t.same(seen, ['the app speaks', 'oidc-provider WARNING: kept when not quiet'])
})
