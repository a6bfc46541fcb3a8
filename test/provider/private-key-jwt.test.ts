// private_key_jwt against the real oidc-provider: a client registered with its
// public key inline, and one whose jwks_uri is the app's own /auth/jwks. Login,
// refresh and logout (revocation) authenticate with a fresh signed assertion;
// no secret is ever sent.
import t, { type Test } from 'tap'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

async function rsaKey (): Promise<{ pem: string, publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { pem: await exportPKCS8(privateKey), publicJwk: { ...await exportJWK(publicKey), kid: 'app-key-1', use: 'sig' } }
}

async function loginRefreshLogout (t: Test, setup: { port: number, issuer: string, env: Record<string, string> }, idp: Awaited<ReturnType<typeof startProvider>>): Promise<void> {
  const { baseUrl, events, logs } = await buildApp(t, { port: setup.port, env: setup.env })
  const browser = new Browser()
  const final = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200, 'logged in')
  t.equal(JSON.parse(final.body).sub, 'demo')

  const refreshed = await browser.post(`${baseUrl}/auth/refresh`, {})
  t.equal(refreshed.status, 200, 'refreshed')

  const logout = await browser.get(`${baseUrl}/auth/logout`)
  t.equal(logout.status, 302, 'logged out')
  t.same(events.map((e) => e.type), ['login', 'refresh', 'logout'])

  const grants = idp.log.filter((e) => e.route === 'token' || e.route === 'revocation')
  t.same(grants.map((e) => [e.route, e.grantType, e.status, e.clientAssertion]), [
    ['token', 'authorization_code', 200, true],
    ['token', 'refresh_token', 200, true],
    ['revocation', undefined, 200, true]
  ], 'code exchange, refresh and revocation each authenticated with a client assertion, accepted')
  t.notOk(logs.some((line) => line.includes('PRIVATE KEY') || line.includes('"d":')), 'no key material in the logs')
}

t.test('a client registered with its public key inline (jwks)', async (t) => {
  const port = await freePort()
  const key = await rsaKey()
  const idp = await startProvider(t, {
    appBaseUrl: `http://127.0.0.1:${port}`,
    extraClients: [{
      client_id: 'pkjwt-app',
      redirect_uris: [`http://127.0.0.1:${port}/auth/callback`],
      post_logout_redirect_uris: [`http://127.0.0.1:${port}/`],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.publicJwk as never] }
    }]
  })
  await loginRefreshLogout(t, {
    port,
    issuer: idp.issuer,
    env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: 'pkjwt-app', OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: key.pem, OIDC_CLIENT_KEY_ID: 'app-key-1' }
  }, idp)
})

t.test('a client whose jwks_uri is the app\'s /auth/jwks (key given as a JWK file, method implied)', async (t) => {
  const port = await freePort()
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const { writeFile, mkdtemp } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = await mkdtemp(join(tmpdir(), 'pkjwt-'))
  const file = join(dir, 'client.jwk.json')
  await writeFile(file, JSON.stringify(await exportJWK(privateKey)), { mode: 0o600 })
  const idp = await startProvider(t, {
    appBaseUrl: `http://127.0.0.1:${port}`,
    extraClients: [{
      client_id: 'pkjwt-uri-app',
      redirect_uris: [`http://127.0.0.1:${port}/auth/callback`],
      post_logout_redirect_uris: [`http://127.0.0.1:${port}/`],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: `http://127.0.0.1:${port}/auth/jwks`
    }]
  })
  await loginRefreshLogout(t, { port, issuer: idp.issuer, env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: 'pkjwt-uri-app', OIDC_CLIENT_PRIVATE_KEY_FILE: file } }, idp)

  const jwks = await fetch(`http://127.0.0.1:${port}/auth/jwks`)
  t.equal(jwks.status, 200)
  const body = await jwks.json() as { keys: Array<Record<string, unknown>> }
  t.equal(body.keys.length, 1)
  t.same(Object.keys(body.keys[0]!).sort(), ['crv', 'kid', 'kty', 'use', 'x', 'y'], 'only the public members, with kid and use')
  t.notOk('d' in body.keys[0]!, 'no private part')
})

t.test('GET /auth/jwks is 404 when no key is configured', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret! })
  t.equal((await fetch(`${baseUrl}/auth/jwks`)).status, 404)
})
