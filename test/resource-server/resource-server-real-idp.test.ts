// oidcResourceServer with tokens from the REAL oidc-provider (the dev IdP):
// a user logs in through its forms (authorization code + PKCE), then the
// issued access token is sent to the API. JWT access tokens (RFC 9068) are
// verified with the IdP's JWKS; opaque ones by introspection at the IdP. The
// ID token and the refresh token of the same login are refused as access tokens.
import t, { type Test } from 'tap'
import { decodeProtectedHeader } from 'jose'
import { codeLogin } from '../helpers/code-login.js'
import { freePort, startProvider, type TestProvider } from '../helpers/provider.js'
import { API_AUDIENCE, buildResourceServer, type ResourceServerApp } from '../helpers/resource-server.js'

interface Tokens { access_token: string, id_token: string, refresh_token: string, scope: string }

/** Logs `demo` in at the IdP and redeems the code as the test client. */
async function login (idp: TestProvider, appBaseUrl: string, scope = 'openid email api:read'): Promise<Tokens> {
  return await codeLogin<Tokens>(idp, appBaseUrl, { scope, params: { nonce: 'n-0123456789' } })
}

async function call (api: ResourceServerApp, token: string, path = '/api'): Promise<{ status: number, body: Record<string, unknown>, challenge: string | null }> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown>, challenge: res.headers.get('www-authenticate') }
}

async function idpWith (t: Test, format: 'jwt' | 'opaque'): Promise<{ idp: TestProvider, tokens: Tokens }> {
  const appBaseUrl = `http://127.0.0.1:${await freePort()}`
  const idp = await startProvider(t, { appBaseUrl, jwtAccessTokens: { audience: API_AUDIENCE, scope: 'api:read api:write', format } })
  return { idp, tokens: await login(idp, appBaseUrl) }
}

t.test('a JWT access token of the real IdP passes; a missing scope is 403', async (t) => {
  const { idp, tokens } = await idpWith(t, 'jwt')
  t.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt', 'oidc-provider issues RFC 9068 tokens')
  const api = await buildResourceServer(t, {
    issuer: idp.issuer,
    audience: API_AUDIENCE,
    routes: (app) => {
      app.get('/api', { preHandler: app.requireBearer({ scopes: ['api:read'] }) }, async (request) => ({ user: request.oidc.user, scopes: request.oidc.scopes, via: request.oidc.via }))
      app.get('/write', { preHandler: app.requireBearer({ scopes: ['api:read', 'api:write'] }) }, async () => ({ wrote: true }))
    }
  })
  const ok = await call(api, tokens.access_token)
  t.equal(ok.status, 200)
  t.match(ok.body, { via: 'bearer', scopes: ['api:read'], user: { sub: 'demo', client_id: 'test-app', iss: idp.issuer, aud: API_AUDIENCE } })
  t.type((ok.body['user'] as { jti: unknown }).jti, 'string', 'oidc-provider sets every RFC 9068 claim')

  const denied = await call(api, tokens.access_token, '/write')
  t.equal(denied.status, 403)
  t.equal(denied.body['code'], 'FST_OIDC_INSUFFICIENT_SCOPE')
  t.match(denied.challenge, /^Bearer realm="https:\/\/api\.example\.test", error="insufficient_scope", error_description="[^"]+", scope="api:read api:write"$/)
})

t.test('the ID token of the same login is refused as an access token', async (t) => {
  const { idp, tokens } = await idpWith(t, 'jwt')
  const strict = await buildResourceServer(t, { issuer: idp.issuer, audience: API_AUDIENCE })
  const refused = await call(strict, tokens.id_token)
  t.equal(refused.status, 401)
  t.equal(refused.body['code'], 'FST_OIDC_TOKEN_INVALID')
  t.match(refused.challenge, /error="invalid_token"/)

  // Even a misconfigured API (any typ, the client id as audience) does not take an ID token.
  const lax = await buildResourceServer(t, { issuer: idp.issuer, audience: idp.client.clientId, accessTokenTypes: ['any'] })
  const stillRefused = await call(lax, tokens.id_token)
  t.equal(stillRefused.status, 401)
  t.match(stillRefused.challenge, /an ID token is not an access token/)
})

t.test('an opaque access token is introspected at the real IdP, then cached', async (t) => {
  const { idp, tokens } = await idpWith(t, 'opaque')
  t.notMatch(tokens.access_token, /\./, 'an opaque token')
  const api = await buildResourceServer(t, {
    issuer: idp.issuer,
    audience: API_AUDIENCE,
    introspect: true,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret!
  })
  const introspections = (): number => idp.log.filter((e) => e.path === '/token/introspection').length
  const ok = await call(api, tokens.access_token)
  t.equal(ok.status, 200)
  t.match(ok.body, { authenticated: true, via: 'bearer', scopes: ['api:read'], user: { sub: 'demo', client_id: 'test-app' } })
  t.equal(introspections(), 1)
  t.equal((await call(api, tokens.access_token)).status, 200)
  t.equal(introspections(), 1, 'the second request is answered from the cache')

  const refresh = await call(api, tokens.refresh_token)
  t.equal(refresh.status, 401, 'a refresh token is no access token (its introspection answer has no aud)')
  t.equal(refresh.body['code'], 'FST_OIDC_TOKEN_INVALID')
  t.match(refresh.challenge, /the aud claim is not acceptable/)
  t.equal(introspections(), 2)
})
