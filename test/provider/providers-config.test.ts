// Several providers in the configuration: OIDC_PROVIDERS with OIDC_<NAME>_* env
// vars, or the `providers` option (env vars fill what an entry leaves out); the
// first is the default. Names, env suffixes, redirect URIs, and one
// FST_OIDC_CONFIG_INVALID naming every bad variable with its provider's prefix.
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fastifyOidc, { resolveConfig, type FastifyOidcOptions } from '../../lib/index.js'

const SHARED = {
  OIDC_BASE_URL: 'https://shop.example.com',
  OIDC_SESSION_SECRET: 'providers-config-session-secret-0123456789'
}

function resolve (env: Record<string, string | undefined>, options: FastifyOidcOptions = {}) {
  return resolveConfig({ env: { ...SHARED, ...env }, ...options })
}

function failure (t: Test, env: Record<string, string | undefined>, options: FastifyOidcOptions = {}): string {
  try {
    resolve(env, options)
  } catch (err) {
    t.equal((err as { code?: string }).code, 'FST_OIDC_CONFIG_INVALID')
    return (err as Error).message
  }
  t.fail('the configuration was accepted')
  return ''
}

t.test('without OIDC_PROVIDERS: one provider named default, with the top-level settings', async (t) => {
  const config = resolve({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'shop' })
  t.equal(config.providers.length, 1)
  t.match(config.providers[0], {
    name: 'default',
    preset: undefined,
    issuer: 'https://idp.example.com',
    redirectUri: 'https://shop.example.com/auth/callback',
    fetchUserinfo: false,
    oauth2Only: false
  })
  t.equal(config.providerName, 'default')
  t.equal(config.metadataRefresh, 600, 'metadata and keys refreshed every 10 minutes by default')
  t.ok(Object.isFrozen(config.providers) && Object.isFrozen(config.providers[0]))
})

t.test('OIDC_PROVIDERS=corp,my-idp: OIDC_<NAME>_* per provider, the first is the default', async (t) => {
  const config = resolve({
    OIDC_PROVIDERS: ' corp , my-idp ',
    OIDC_CORP_ISSUER: 'https://sso.corp.example/realms/staff',
    OIDC_CORP_CLIENT_ID: 'shop-staff',
    OIDC_CORP_CLIENT_SECRET: 'corp-secret',
    OIDC_CORP_SCOPE: 'openid offline_access',
    OIDC_CORP_DISCOVERY_URL: 'http://keycloak.internal.localhost:8080/realms/staff',
    OIDC_CORP_ROLES_CLAIM: 'realm_access.roles',
    OIDC_CORP_FETCH_USERINFO: 'true',
    OIDC_CORP_ID_TOKEN_ALGS: 'ES256',
    OIDC_MY_IDP_ISSUER: 'https://login.partner.example',
    OIDC_MY_IDP_CLIENT_ID: 'shop-partner',
    OIDC_MY_IDP_TOKEN_ENDPOINT: 'https://login.partner.example/oauth/token',
    OIDC_MY_IDP_POST_LOGOUT_REDIRECT_URI: 'https://shop.example.com/bye',
    OIDC_METADATA_REFRESH: '60'
  })
  t.same(config.providers.map((p) => p.name), ['corp', 'my-idp'])
  const [corp, partner] = config.providers
  t.match(corp, {
    issuer: 'https://sso.corp.example/realms/staff',
    clientId: 'shop-staff',
    clientSecret: 'corp-secret',
    scope: 'openid offline_access',
    discoveryUrl: 'http://keycloak.internal.localhost:8080/realms/staff',
    rolesClaim: 'realm_access.roles',
    fetchUserinfo: true,
    idTokenSigningAlgs: ['ES256'],
    redirectUri: 'https://shop.example.com/auth/callback',
    postLogoutRedirectUri: 'https://shop.example.com/'
  })
  t.match(partner, {
    issuer: 'https://login.partner.example',
    clientId: 'shop-partner',
    clientSecret: undefined,
    scope: 'openid profile email',
    discoveryUrl: 'https://login.partner.example',
    endpoints: { token: 'https://login.partner.example/oauth/token' },
    redirectUri: 'https://shop.example.com/auth/callback/my-idp',
    postLogoutRedirectUri: 'https://shop.example.com/bye',
    rolesClaim: 'roles',
    fetchUserinfo: false
  })
  t.equal(config.issuer, corp?.issuer, 'the top-level settings are the default provider\'s')
  t.equal(config.providerName, 'corp')
  t.equal(config.metadataRefresh, 60)
})

t.test('the providers option: entries over OIDC_<NAME>_* env vars, top-level redirect URIs follow the prefix', async (t) => {
  const config = resolve({
    OIDC_GOOGLE_CLIENT_SECRET: 'google-secret-from-env',
    OIDC_GOOGLE_CLIENT_ID: 'env-id-loses',
    OIDC_STAFF_CLIENT_ID: 'staff'
  }, {
    prefix: '/login',
    providers: [
      { name: 'staff', issuer: 'https://sso.example.com', fetchUserinfo: true },
      { name: 'google', preset: 'google', clientId: 'google-id' }
    ]
  })
  const [staff, google] = config.providers
  t.match(staff, { name: 'staff', clientId: 'staff', fetchUserinfo: true, redirectUri: 'https://shop.example.com/login/callback' })
  t.match(google, {
    name: 'google',
    preset: 'google',
    issuer: 'https://accounts.google.com',
    clientId: 'google-id',
    clientSecret: 'google-secret-from-env',
    redirectUri: 'https://shop.example.com/login/callback/google'
  })
})

t.test('problems are named with the provider\'s env prefix, all at once', async (t) => {
  const message = failure(t, {
    OIDC_PROVIDERS: 'corp,my-idp',
    OIDC_CORP_ISSUER: 'http://sso.corp.example',
    OIDC_CORP_SCOPE: 'profile',
    OIDC_CORP_ID_TOKEN_ALGS: 'HS256',
    OIDC_CORP_FETCH_USERINFO: 'sometimes',
    OIDC_MY_IDP_PRESET: 'ping',
    OIDC_MY_IDP_JWKS_URI: 'ftp://idp.example/jwks',
    OIDC_METADATA_REFRESH: '0'
  })
  for (const text of [
    'OIDC_CORP_ISSUER: expected an https URL', 'OIDC_CORP_CLIENT_ID: required', 'OIDC_CORP_SCOPE: must include openid',
    'OIDC_CORP_ID_TOKEN_ALGS: HS256 needs OIDC_CORP_CLIENT_SECRET', 'OIDC_CORP_FETCH_USERINFO: expected true or false',
    'OIDC_MY_IDP_PRESET: expected one of keycloak, okta, auth0, entra, google, github, got "ping"',
    'OIDC_MY_IDP_ISSUER: required', 'OIDC_MY_IDP_CLIENT_ID: required', 'OIDC_MY_IDP_JWKS_URI: expected an http(s) URL',
    'OIDC_METADATA_REFRESH: expected a whole number between 1 and 86400'
  ]) t.ok(message.includes(text), `names ${text}`)
  t.match(failure(t, { OIDC_ISSUER: 'https://idp.example', OIDC_CLIENT_ID: 'x', OIDC_ID_TOKEN_ALGS: 'none' }), /OIDC_ID_TOKEN_ALGS: unsupported algorithm "none"/)
})

t.test('provider names: lowercase letters, digits, - and _; not twice, not twice once - is read as _', async (t) => {
  for (const list of ['Google', 'a b', '-lead', 'x'.repeat(41)]) {
    t.match(failure(t, { OIDC_PROVIDERS: list }), /OIDC_PROVIDERS: expected provider names of lowercase letters/, JSON.stringify(list))
  }
  t.match(failure(t, { OIDC_PROVIDERS: 'corp,corp' }), /OIDC_PROVIDERS: "corp" is listed twice/)
  t.match(failure(t, { OIDC_PROVIDERS: 'my-idp,my_idp' }), /OIDC_PROVIDERS: "my_idp" is listed twice/)
  t.match(failure(t, { OIDC_PROVIDERS: ' , ' }), /providers: expected a non-empty array/, 'a list of blanks names no provider')
  t.match(failure(t, {}, { providers: [] }), /providers: expected a non-empty array/)
  t.match(failure(t, {}, { providers: 'corp' as never }), /providers: expected a non-empty array/)
  t.match(failure(t, {}, { providers: [null as never] }), /got "undefined"/)
  t.match(failure(t, {}, { providers: [{ issuer: 'https://idp.example' } as never] }), /got "undefined"/, 'an entry without a name')
})

t.test('with several providers, a provider setting at the top level is refused (ambiguous)', async (t) => {
  const message = failure(t, {
    OIDC_PROVIDERS: 'corp',
    OIDC_CORP_ISSUER: 'https://sso.example.com',
    OIDC_CORP_CLIENT_ID: 'shop',
    OIDC_ISSUER: 'https://other.example.com',
    OIDC_TOKEN_ENDPOINT: 'https://other.example.com/token',
    OIDC_PRESET: 'keycloak'
  })
  t.match(message, /OIDC_ISSUER: with OIDC_PROVIDERS, set OIDC_<NAME>_ISSUER for each provider/)
  t.match(message, /OIDC_TOKEN_ENDPOINT: with OIDC_PROVIDERS, set OIDC_<NAME>_TOKEN_ENDPOINT/)
  t.match(message, /OIDC_PRESET: with OIDC_PROVIDERS/)
  const fromOptions = failure(t, {}, {
    providers: [{ name: 'corp', issuer: 'https://sso.example.com', clientId: 'shop' }],
    issuer: 'https://other.example.com',
    endpoints: { token: 'https://other.example.com/token' }
  })
  t.match(fromOptions, /issuer: with several providers, set it in each entry of providers \(or OIDC_<NAME>_ISSUER\)/)
  t.match(fromOptions, /endpoints: with several providers/)
})

t.test('empty or blank OIDC_PROVIDERS and OIDC_PRESET are unset', async (t) => {
  const config = resolve({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'shop', OIDC_PROVIDERS: '', OIDC_PRESET: '  ' })
  t.equal(config.providers[0]?.name, 'default')
  t.equal(config.providers[0]?.preset, undefined)
})

t.test('register() fails at once, before any discovery, when a provider is misconfigured', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(fastifyOidc, { env: { ...SHARED, OIDC_PROVIDERS: 'corp,partner', OIDC_CORP_ISSUER: 'https://127.0.0.1:1', OIDC_CORP_CLIENT_ID: 'x' } })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_PARTNER_ISSUER: required/ })
})
