// How oidcResourceServer authenticates at the introspection endpoint of the real
// oidc-provider: client_secret_post, or private_key_jwt (an assertion each call,
// the key from OIDC_CLIENT_PRIVATE_KEY, OIDC_TOKEN_AUTH_METHOD implied by a key
// alone); and the configuration errors of a method without what it needs.
import t from 'tap'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { resolveResourceServerConfig } from '../../lib/resource-server/config.js'
import { codeLogin } from '../helpers/code-login.js'
import { freePort, startProvider, type TestProvider } from '../helpers/provider.js'
import { API_AUDIENCE, buildResourceServer } from '../helpers/resource-server.js'

/** An opaque access token of `demo`, issued to the test client. */
async function opaqueToken (idp: TestProvider, appBaseUrl: string): Promise<string> {
  return (await codeLogin<{ access_token: string }>(idp, appBaseUrl)).access_token
}

t.test('introspection with client_secret_post and with private_key_jwt', async (t) => {
  const appBaseUrl = `http://127.0.0.1:${await freePort()}`
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const idp = await startProvider(t, {
    appBaseUrl,
    jwtAccessTokens: { audience: API_AUDIENCE, scope: 'api:read', format: 'opaque' },
    extraClients: [
      { client_id: 'api-post', client_secret: 'api-post-secret', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [`${appBaseUrl}/x`], post_logout_redirect_uris: [] },
      { client_id: 'api-key', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...await exportJWK(publicKey), kid: 'api-key-1' } as never] }, redirect_uris: [`${appBaseUrl}/y`], post_logout_redirect_uris: [] }
    ]
  })
  const token = await opaqueToken(idp, appBaseUrl)
  const introspections = () => idp.log.filter((e) => e.route === 'introspection')

  const post = await buildResourceServer(t, { issuer: idp.issuer, audience: API_AUDIENCE, introspect: true, clientId: 'api-post', clientSecret: 'api-post-secret', tokenAuthMethod: 'client_secret_post' })
  const viaPost = await fetch(`${post.url}/api`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(viaPost.status, 200, 'client_secret_post accepted')

  const keyed = await buildResourceServer(t, {
    issuer: idp.issuer, audience: API_AUDIENCE, introspect: true, env: { OIDC_INTROSPECTION_CLIENT_ID: 'api-key', OIDC_CLIENT_PRIVATE_KEY: await exportPKCS8(privateKey), OIDC_CLIENT_KEY_ID: 'api-key-1' }
  })
  const viaKey = await fetch(`${keyed.url}/api`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(viaKey.status, 200, 'private_key_jwt accepted')
  t.match(await viaKey.json(), { user: { sub: 'demo' } })
  t.same(introspections().map((e) => [e.status, e.clientAssertion]), [[200, undefined], [200, true]], 'the second one authenticated with an assertion')
})

t.test('introspection configuration: a method without what it needs, none, a bad key', async (t) => {
  const base = { issuer: 'https://idp.example.com', audience: 'https://api.example.com', introspect: true, clientId: 'api' }
  const failure = (options: Record<string, unknown>): string => {
    try {
      resolveResourceServerConfig({ ...base, env: {}, ...options })
    } catch (err) {
      t.equal((err as { code?: string }).code, 'FST_OIDC_CONFIG_INVALID')
      return (err as Error).message
    }
    return 'accepted'
  }
  t.match(failure({}), /OIDC_INTROSPECTION_CLIENT_SECRET: required for introspection/)
  t.match(failure({ tokenAuthMethod: 'private_key_jwt', clientSecret: 's' }), /OIDC_TOKEN_AUTH_METHOD=private_key_jwt: needs OIDC_CLIENT_PRIVATE_KEY/)
  t.match(failure({ env: { OIDC_TOKEN_AUTH_METHOD: 'none' }, clientSecret: 's' }), /OIDC_TOKEN_AUTH_METHOD: expected client_secret_basic, client_secret_post, private_key_jwt \(introspection needs client authentication\)/)
  t.match(failure({ tokenAuthMethod: 'none', clientSecret: 's' }), /OIDC_TOKEN_AUTH_METHOD: expected client_secret_basic/)
  t.match(failure({ clientPrivateKey: 'not a key' }), /OIDC_CLIENT_PRIVATE_KEY: not a PEM private key/)
  const config = resolveResourceServerConfig({ ...base, env: {}, clientSecret: 's' })
  t.match(config.introspection, { method: 'client_secret_basic', clientSecret: 's', clientKey: undefined })
})
