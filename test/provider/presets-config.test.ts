// What each preset fills in (OIDC_PRESET / OIDC_<NAME>_PRESET, or `preset`), and
// the settings it needs to derive an issuer: resolved without any network call.
// Explicit settings always win over a preset's.
import t, { type Test } from 'tap'
import { resolveConfig } from '../../lib/index.js'

const SHARED = {
  OIDC_BASE_URL: 'https://shop.example.com',
  OIDC_SESSION_SECRET: 'presets-config-session-secret-0123456789',
  OIDC_CLIENT_ID: 'shop'
}

const provider = (env: Record<string, string>) => resolveConfig({ env: { ...SHARED, ...env } }).providers[0]!

function failure (t: Test, env: Record<string, string>): string {
  try {
    resolveConfig({ env: { ...SHARED, ...env } })
  } catch (err) {
    t.equal((err as { code?: string }).code, 'FST_OIDC_CONFIG_INVALID')
    return (err as Error).message
  }
  t.fail('accepted')
  return ''
}

t.test('keycloak: issuer from the server URL and realm, Keycloak roles, JWT access tokens', async (t) => {
  t.match(provider({ OIDC_PRESET: 'keycloak', OIDC_SERVER_URL: 'https://sso.example.com/', OIDC_REALM: 'shop' }), {
    preset: 'keycloak',
    issuer: 'https://sso.example.com/realms/shop',
    discoveryUrl: 'https://sso.example.com/realms/shop',
    rolesClaim: 'keycloak',
    accessTokenTyp: 'JWT',
    scope: 'openid profile email'
  })
  t.equal(provider({ OIDC_PRESET: 'keycloak', OIDC_SERVER_URL: 'https://sso.example.com/auth', OIDC_REALM: 'my realm' }).issuer,
    'https://sso.example.com/auth/realms/my%20realm', 'a legacy /auth server URL; the realm is encoded')
  t.equal(provider({ OIDC_PRESET: 'keycloak', OIDC_ISSUER: 'https://sso.example.com/realms/x' }).issuer, 'https://sso.example.com/realms/x', 'or the issuer itself')
  t.equal(provider({ OIDC_PRESET: 'keycloak', OIDC_ISSUER: 'https://sso.example.com/realms/x', OIDC_ROLES_CLAIM: 'groups' }).rolesClaim, 'groups', 'explicit settings win')
  for (const env of [{}, { OIDC_SERVER_URL: 'https://sso.example.com' }, { OIDC_REALM: 'shop' }] as Array<Record<string, string>>) {
    t.match(failure(t, { OIDC_PRESET: 'keycloak', ...env }), /OIDC_PRESET=keycloak: needs OIDC_SERVER_URL and OIDC_REALM \(or OIDC_ISSUER\)/)
  }
})

t.test('okta: the default authorization server, groups as roles, offline_access', async (t) => {
  t.match(provider({ OIDC_PRESET: 'okta', OIDC_SERVER_URL: 'https://acme.okta.com' }), {
    issuer: 'https://acme.okta.com/oauth2/default',
    rolesClaim: 'okta',
    scope: 'openid profile email offline_access'
  })
  t.equal(provider({ OIDC_PRESET: 'okta', OIDC_ISSUER: 'https://acme.okta.com' }).issuer, 'https://acme.okta.com', 'the org authorization server')
  t.match(failure(t, { OIDC_PRESET: 'okta' }), /OIDC_PRESET=okta: needs OIDC_SERVER_URL \(or OIDC_ISSUER\)/)
})

t.test('auth0: the tenant issuer with its trailing slash, /v2/logout on the tenant', async (t) => {
  t.match(provider({ OIDC_PRESET: 'auth0', OIDC_SERVER_URL: 'https://acme.eu.auth0.com' }), {
    issuer: 'https://acme.eu.auth0.com/',
    auth0LogoutOrigin: 'https://acme.eu.auth0.com',
    scope: 'openid profile email offline_access'
  })
  t.equal(provider({ OIDC_PRESET: 'auth0', OIDC_ISSUER: 'https://login.acme.example/' }).auth0LogoutOrigin, 'https://login.acme.example', 'a custom domain')
  t.match(failure(t, { OIDC_PRESET: 'auth0' }), /OIDC_PRESET=auth0: needs OIDC_SERVER_URL \(or OIDC_ISSUER\)/)
})

t.test('entra: tenant issuer templating, roles, offline_access', async (t) => {
  t.match(provider({ OIDC_PRESET: 'entra', OIDC_TENANT: 'contoso.onmicrosoft.com' }), {
    issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0',
    entraAuthority: 'https://login.microsoftonline.com',
    rolesClaim: 'entra',
    accessTokenTyp: 'JWT',
    scope: 'openid profile email offline_access'
  })
  t.match(provider({ OIDC_PRESET: 'entra', OIDC_TENANT: 'common', OIDC_SERVER_URL: 'https://login.microsoftonline.us' }), {
    issuer: 'https://login.microsoftonline.us/common/v2.0',
    entraAuthority: 'https://login.microsoftonline.us'
  }, 'a national cloud\'s authority')
  t.match(failure(t, { OIDC_PRESET: 'entra' }), /OIDC_PRESET=entra: needs OIDC_TENANT \(or OIDC_ISSUER\)/)
})

t.test('google: the fixed issuer and its scheme-less spelling, offline access', async (t) => {
  t.match(provider({ OIDC_PRESET: 'google' }), {
    issuer: 'https://accounts.google.com',
    issuerAliases: ['accounts.google.com'],
    authorizeParams: { access_type: 'offline' },
    auth0LogoutOrigin: undefined
  })
  t.same(provider({ OIDC_PRESET: 'google', OIDC_ISSUER: 'http://127.0.0.1:9999' }).issuerAliases, [], 'no alias for another issuer')
})

t.test('github: OAuth 2 only, github.com or GitHub Enterprise Server endpoints, its own scopes', async (t) => {
  t.match(provider({ OIDC_PRESET: 'github' }), {
    oauth2Only: true,
    issuer: 'https://github.com',
    scope: 'read:user user:email',
    endpoints: {
      authorization: 'https://github.com/login/oauth/authorize',
      token: 'https://github.com/login/oauth/access_token',
      userinfo: 'https://api.github.com/user'
    }
  })
  t.match(provider({ OIDC_PRESET: 'github', OIDC_SERVER_URL: 'https://ghe.example.com', OIDC_SCOPE: 'read:user' }), {
    issuer: 'https://ghe.example.com',
    scope: 'read:user',
    endpoints: { userinfo: 'https://ghe.example.com/api/v3/user', token: 'https://ghe.example.com/login/oauth/access_token' }
  }, 'no openid scope needed')
})

t.test('per provider: OIDC_<NAME>_PRESET with its own OIDC_<NAME>_* settings', async (t) => {
  const config = resolveConfig({
    env: {
      ...SHARED,
      OIDC_CLIENT_ID: '',
      OIDC_PROVIDERS: 'staff,github',
      OIDC_STAFF_PRESET: 'keycloak',
      OIDC_STAFF_SERVER_URL: 'https://sso.example.com',
      OIDC_STAFF_REALM: 'staff',
      OIDC_STAFF_CLIENT_ID: 'shop',
      OIDC_GITHUB_PRESET: 'github',
      OIDC_GITHUB_CLIENT_ID: 'Iv1.abc'
    }
  })
  t.same(config.providers.map((p) => [p.name, p.preset, p.issuer, p.redirectUri]), [
    ['staff', 'keycloak', 'https://sso.example.com/realms/staff', 'https://shop.example.com/auth/callback'],
    ['github', 'github', 'https://github.com', 'https://shop.example.com/auth/callback/github']
  ])
  const message = failure(t, { OIDC_CLIENT_ID: '', OIDC_PROVIDERS: 'staff', OIDC_STAFF_PRESET: 'keycloak', OIDC_STAFF_REALM: 'staff', OIDC_STAFF_CLIENT_ID: 'x' })
  t.match(message, /OIDC_STAFF_PRESET=keycloak: needs OIDC_STAFF_SERVER_URL and OIDC_STAFF_REALM \(or OIDC_STAFF_ISSUER\)/)
})
