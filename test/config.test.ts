// resolveConfig: every OIDC_* env var of one provider, options over env, and
// one FST_OIDC_CONFIG_INVALID naming every bad variable (never a secret value).
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import fastifyOidc, { MemoryStore, resolveConfig, type FastifyOidcOptions } from '../lib/index.js'

const SECRET = 'config-test-session-secret-0123456789'
const OLD_SECRET = 'config-test-older-secret-abcdefghijkl'
const VALID = {
  OIDC_ISSUER: 'https://idp.example.com/realms/main',
  OIDC_CLIENT_ID: 'shop',
  OIDC_BASE_URL: 'https://shop.example.com',
  OIDC_SESSION_SECRET: SECRET
}

function resolve (env: Record<string, string | undefined> = {}, options: FastifyOidcOptions = {}) {
  return resolveConfig({ env: { ...VALID, ...env }, ...options })
}

/** The error thrown for `env`, asserted to be FST_OIDC_CONFIG_INVALID. */
function failure (t: Test, env: Record<string, string | undefined>, options: FastifyOidcOptions = {}): string {
  try {
    resolve(env, options)
  } catch (err) {
    const e = err as { code?: string, statusCode?: number, message: string }
    t.equal(e.code, 'FST_OIDC_CONFIG_INVALID')
    t.equal(e.statusCode, 500)
    return e.message
  }
  t.fail('resolveConfig accepted an invalid configuration')
  return ''
}

t.test('defaults from a minimal environment', async (t) => {
  const config = resolve()
  t.equal(config.issuer, VALID.OIDC_ISSUER)
  t.equal(config.clientId, 'shop')
  t.equal(config.clientSecret, undefined, 'no secret: public client')
  t.equal(config.baseUrl, 'https://shop.example.com')
  t.equal(config.redirectUri, 'https://shop.example.com/auth/callback')
  t.same(config.sessionSecrets, [SECRET])
  t.equal(config.scope, 'openid profile email')
  t.same(config.endpoints, {})
  t.equal(config.discoveryUrl, VALID.OIDC_ISSUER, 'discovery defaults to the issuer')
  t.equal(config.postLogoutRedirectUri, 'https://shop.example.com/')
  t.same(config.downstreams, [])
  t.equal(config.sessionStore, 'memory')
  t.equal(config.allowHttp, false)
  t.equal(config.prefix, '/auth')
  t.equal(config.refreshLeeway, 30)
  t.equal(config.clockTolerance, 60)
  t.equal(config.httpTimeout, 5000)
  t.equal(config.rolesClaim, 'roles')
  t.equal(config.idTokenSigningAlgs, undefined)
  t.equal(config.sessionMaxAge, 8 * 3600)
  t.equal(config.revokeOnLogout, true)
  t.equal(config.memoryStoreMax, 10000)
  t.equal(config.cookieName, '__Host-oidc.sid', 'https base URL, no cookie domain: the __Host- prefix')
  t.equal(config.cookieDomain, undefined)
  t.equal(config.secureCookies, true, 'https base URL: Secure cookies')
  t.ok(Object.isFrozen(config))
  t.ok(Object.isFrozen(config.endpoints))
})

t.test('every env var is read', async (t) => {
  const config = resolve({
    OIDC_CLIENT_SECRET: 'shop-secret',
    OIDC_BASE_URL: 'https://shop.example.com/',
    OIDC_SESSION_SECRET: ` ${SECRET} , ${OLD_SECRET} `,
    OIDC_SCOPE: 'openid offline_access',
    OIDC_AUTHORIZATION_ENDPOINT: 'https://login.example.com/authorize',
    OIDC_TOKEN_ENDPOINT: 'http://keycloak.svc.cluster.local:8080/token',
    OIDC_JWKS_URI: 'https://idp.example.com/jwks',
    OIDC_USERINFO_ENDPOINT: 'https://idp.example.com/userinfo',
    OIDC_END_SESSION_ENDPOINT: 'https://login.example.com/logout',
    OIDC_REVOCATION_ENDPOINT: 'https://idp.example.com/revoke',
    OIDC_INTROSPECTION_ENDPOINT: 'https://idp.example.com/introspect',
    OIDC_DISCOVERY_URL: 'http://keycloak.svc.cluster.local:8080/realms/main',
    OIDC_POST_LOGOUT_REDIRECT_URI: 'https://shop.example.com/bye',
    OIDC_DOWNSTREAMS: 'https://details.example.com, https://reviews.example.com/',
    OIDC_SESSION_STORE: 'memory',
    OIDC_ALLOW_HTTP: 'true',
    OIDC_REFRESH_LEEWAY: '45',
    OIDC_CLOCK_TOLERANCE: '5',
    OIDC_HTTP_TIMEOUT: '1500',
    OIDC_ROLES_CLAIM: 'realm_access.roles',
    OIDC_ID_TOKEN_ALGS: 'ES256, HS256',
    OIDC_SESSION_MAX_AGE: '600',
    OIDC_REVOKE_ON_LOGOUT: 'false',
    OIDC_MEMORY_STORE_MAX: '50'
  })
  t.equal(config.clientSecret, 'shop-secret')
  t.equal(config.baseUrl, 'https://shop.example.com', 'a trailing slash is dropped')
  t.same(config.sessionSecrets, [SECRET, OLD_SECRET], 'comma-separated, trimmed, in order')
  t.equal(config.scope, 'openid offline_access')
  t.same(config.endpoints, {
    authorization: 'https://login.example.com/authorize',
    token: 'http://keycloak.svc.cluster.local:8080/token',
    jwks: 'https://idp.example.com/jwks',
    userinfo: 'https://idp.example.com/userinfo',
    endSession: 'https://login.example.com/logout',
    revocation: 'https://idp.example.com/revoke',
    introspection: 'https://idp.example.com/introspect'
  })
  t.equal(config.discoveryUrl, 'http://keycloak.svc.cluster.local:8080/realms/main')
  t.equal(config.postLogoutRedirectUri, 'https://shop.example.com/bye')
  t.same(config.downstreams, ['https://details.example.com', 'https://reviews.example.com'])
  t.equal(config.sessionStore, 'memory')
  t.equal(config.allowHttp, true)
  t.equal(config.refreshLeeway, 45)
  t.equal(config.clockTolerance, 5)
  t.equal(config.httpTimeout, 1500)
  t.equal(config.rolesClaim, 'realm_access.roles')
  t.same(config.idTokenSigningAlgs, ['ES256', 'HS256'])
  t.equal(config.sessionMaxAge, 600)
  t.equal(config.revokeOnLogout, false)
  t.equal(config.memoryStoreMax, 50)
})

t.test('booleans accept true/false, 1/0, yes/no; empty values count as unset', async (t) => {
  t.equal(resolve({ OIDC_REVOKE_ON_LOGOUT: 'no' }).revokeOnLogout, false)
  t.equal(resolve({ OIDC_REVOKE_ON_LOGOUT: '0' }).revokeOnLogout, false)
  t.equal(resolve({ OIDC_REVOKE_ON_LOGOUT: 'YES' }).revokeOnLogout, true)
  t.equal(resolve({ OIDC_ALLOW_HTTP: '1' }).allowHttp, true)
  t.equal(resolve({ OIDC_SCOPE: '   ' }).scope, 'openid profile email')
  t.equal(resolve({ OIDC_CLIENT_SECRET: '' }).clientSecret, undefined)
})

t.test('explicit options win over env vars', async (t) => {
  const store = new MemoryStore()
  const onAudit = (): void => {}
  const config = resolve({
    OIDC_ISSUER: 'https://env-idp.example.com',
    OIDC_CLIENT_ID: 'env-client',
    OIDC_CLIENT_SECRET: 'env-secret',
    OIDC_SCOPE: 'openid env',
    OIDC_TOKEN_ENDPOINT: 'https://env-idp.example.com/token',
    OIDC_HTTP_TIMEOUT: 'not a number',
    OIDC_ALLOW_HTTP: 'false',
    OIDC_SESSION_STORE: 'redis://cache:6379',
    OIDC_REVOKE_ON_LOGOUT: 'true'
  }, {
    issuer: 'http://idp.internal',
    clientId: 'opt-client',
    clientSecret: 'opt-secret',
    baseUrl: 'http://shop.internal:3000',
    sessionSecret: [OLD_SECRET, SECRET],
    scope: 'openid opt',
    endpoints: { token: 'https://opt-idp.example.com/token' },
    httpTimeout: 250,
    allowHttp: true,
    sessionStore: store,
    revokeOnLogout: false,
    prefix: '/login-area',
    cookieName: 'shop.sid',
    onAudit
  })
  t.equal(config.issuer, 'http://idp.internal', 'http on a non-loopback host accepted with allowHttp')
  t.equal(config.clientId, 'opt-client')
  t.equal(config.clientSecret, 'opt-secret')
  t.equal(config.baseUrl, 'http://shop.internal:3000')
  t.equal(config.secureCookies, false, 'http base URL: no Secure cookie')
  t.equal(config.redirectUri, 'http://shop.internal:3000/login-area/callback')
  t.same(config.sessionSecrets, [OLD_SECRET, SECRET])
  t.equal(config.scope, 'openid opt')
  t.equal(config.endpoints.token, 'https://opt-idp.example.com/token')
  t.equal(config.httpTimeout, 250, 'the invalid env value is not even read')
  t.equal(config.allowHttp, true)
  t.equal(config.sessionStore, store, 'a store object is used as is')
  t.equal(config.revokeOnLogout, false)
  t.equal(config.cookieName, 'shop.sid')
  t.equal(config.onAudit, onAudit)
})

t.test('http IdP URLs: loopback hosts only, unless OIDC_ALLOW_HTTP=true', async (t) => {
  for (const issuer of ['http://127.0.0.1:9000', 'http://127.10.20.30', 'http://localhost:8080/realms/x', 'http://idp.localhost', 'http://[::1]:4000']) {
    t.equal(resolve({ OIDC_ISSUER: issuer }).issuer, issuer, `${issuer} is loopback`)
  }
  for (const issuer of ['http://idp.example.com', 'http://10.0.0.5:8080', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example']) {
    const message = failure(t, { OIDC_ISSUER: issuer })
    t.match(message, /OIDC_ISSUER: expected an https URL \(http is only accepted for loopback hosts unless OIDC_ALLOW_HTTP=true\)/, `${issuer} refused`)
    t.equal(resolve({ OIDC_ISSUER: issuer, OIDC_ALLOW_HTTP: 'true' }).issuer, issuer, `${issuer} accepted with OIDC_ALLOW_HTTP=true`)
  }
  const message = failure(t, { OIDC_JWKS_URI: 'http://idp.example.com/jwks', OIDC_DISCOVERY_URL: 'http://keycloak:8080' })
  t.match(message, /OIDC_JWKS_URI: expected an https URL/)
  t.match(message, /OIDC_DISCOVERY_URL: expected an https URL/)
  t.equal(resolve({ OIDC_BASE_URL: 'http://shop.internal' }).baseUrl, 'http://shop.internal', 'the app base URL is no IdP URL')
})

t.test('OIDC_SCOPE must include openid', async (t) => {
  t.match(failure(t, { OIDC_SCOPE: 'profile email' }), /OIDC_SCOPE: must include openid/)
  t.match(failure(t, { OIDC_SCOPE: 'openidx profile' }), /OIDC_SCOPE: must include openid/, 'a whole word')
  t.equal(resolve({ OIDC_SCOPE: 'email  openid' }).scope, 'email  openid')
})

t.test('one error names every bad variable at once', async (t) => {
  const env: Record<string, string | undefined> = {
    OIDC_ISSUER: undefined,
    OIDC_CLIENT_ID: undefined,
    OIDC_BASE_URL: 'https://shop.example.com/app?x=1',
    OIDC_SESSION_SECRET: undefined,
    OIDC_SCOPE: 'profile',
    OIDC_AUTHORIZATION_ENDPOINT: 'not a url',
    OIDC_TOKEN_ENDPOINT: 'ftp://idp.example.com/token',
    OIDC_JWKS_URI: 'https://user:pw@idp.example.com/jwks',
    OIDC_USERINFO_ENDPOINT: 'https://idp.example.com/userinfo#frag',
    OIDC_END_SESSION_ENDPOINT: 'http://idp.example.com/logout',
    OIDC_REVOCATION_ENDPOINT: '/revoke',
    OIDC_INTROSPECTION_ENDPOINT: 'javascript:alert(1)',
    OIDC_DISCOVERY_URL: 'http://cluster.internal',
    OIDC_POST_LOGOUT_REDIRECT_URI: 'nope',
    OIDC_DOWNSTREAMS: 'https://ok.example.com,https://api.example.com/v1,not-an-origin',
    OIDC_SESSION_STORE: 'sqlite',
    OIDC_ALLOW_HTTP: 'maybe',
    OIDC_REFRESH_LEEWAY: '-1',
    OIDC_CLOCK_TOLERANCE: '301',
    OIDC_HTTP_TIMEOUT: '99',
    OIDC_ROLES_CLAIM: 'roles',
    OIDC_ID_TOKEN_ALGS: 'none,HS256',
    OIDC_SESSION_MAX_AGE: '1.5',
    OIDC_REVOKE_ON_LOGOUT: 'sometimes',
    OIDC_MEMORY_STORE_MAX: '0'
  }
  const message = failure(t, env, { prefix: 'auth/', cookieName: 'bad name;', onAudit: 'log' as unknown as () => void })
  const named = [
    'OIDC_ISSUER: required', 'OIDC_CLIENT_ID: required', 'OIDC_BASE_URL: expected an origin only', 'OIDC_SESSION_SECRET: required',
    'OIDC_SCOPE: must include openid', 'OIDC_AUTHORIZATION_ENDPOINT: expected an absolute URL', 'OIDC_TOKEN_ENDPOINT: expected an http(s) URL',
    'OIDC_JWKS_URI: must not contain credentials or a fragment', 'OIDC_USERINFO_ENDPOINT: must not contain credentials or a fragment',
    'OIDC_END_SESSION_ENDPOINT: expected an https URL', 'OIDC_REVOCATION_ENDPOINT: expected an absolute URL',
    'OIDC_INTROSPECTION_ENDPOINT: expected an http(s) URL', 'OIDC_DISCOVERY_URL: expected an https URL',
    'OIDC_POST_LOGOUT_REDIRECT_URI: expected an absolute URL', 'OIDC_DOWNSTREAMS: expected origins', 'OIDC_SESSION_STORE: expected memory',
    'OIDC_ALLOW_HTTP: expected true or false', 'OIDC_REFRESH_LEEWAY: expected a whole number', 'OIDC_CLOCK_TOLERANCE: expected a whole number between 0 and 300',
    'OIDC_HTTP_TIMEOUT: expected a whole number between 100 and 120000', 'OIDC_ID_TOKEN_ALGS: unsupported algorithm "none"',
    'OIDC_ID_TOKEN_ALGS: HS256 needs OIDC_CLIENT_SECRET', 'OIDC_SESSION_MAX_AGE: expected a whole number',
    'OIDC_REVOKE_ON_LOGOUT: expected true or false', 'OIDC_MEMORY_STORE_MAX: expected a whole number between 1 and 10000000',
    'prefix: expected a path such as /auth', 'cookieName: expected letters', 'onAudit: expected a function'
  ]
  for (const text of named) t.ok(message.includes(text), `names ${text}`)
  t.match(message, /"https:\/\/api\.example\.com\/v1"/, 'says which downstream entry is wrong')
  t.notMatch(message, /ok\.example\.com/, 'valid entries are not listed')
  t.notMatch(message, /OIDC_ROLES_CLAIM/, 'valid variables are not named')
})

t.test('numbers given as options are range-checked too', async (t) => {
  const message = failure(t, {}, { refreshLeeway: 1.5, clockTolerance: -1, httpTimeout: 200_000, sessionMaxAge: 10, memoryStoreMax: 0 })
  t.match(message, /OIDC_REFRESH_LEEWAY: expected a whole number between 0 and 3600, got 1\.5/)
  t.match(message, /OIDC_CLOCK_TOLERANCE: .* got -1/)
  t.match(message, /OIDC_HTTP_TIMEOUT: .* got 200000/)
  t.match(message, /OIDC_SESSION_MAX_AGE: expected a whole number between 60 and 34560000/)
  t.match(message, /OIDC_MEMORY_STORE_MAX: .* got 0/)
})

t.test('the message never echoes a secret', async (t) => {
  const shortSecret = 'hunter2-short-secret'
  const clientSecret = 'client-secret-Zq81xV'
  const message = failure(t, {
    OIDC_SESSION_SECRET: `${SECRET},${shortSecret}`,
    OIDC_CLIENT_SECRET: clientSecret,
    OIDC_ISSUER: 'https://admin:p4ssw0rd@idp.example.com',
    OIDC_SESSION_STORE: 'memcached://default:r3d1s-pw@cache.example.com:11211',
    OIDC_SCOPE: 'profile'
  })
  t.match(message, /OIDC_SESSION_SECRET: every secret must be at least 32 characters/)
  t.match(message, /OIDC_ISSUER: must not contain credentials/)
  t.match(message, /OIDC_SESSION_STORE: expected memory.*memcached:\/\/\*\*\*@cache\.example\.com/)
  for (const secret of [shortSecret, SECRET, clientSecret, 'p4ssw0rd', 'r3d1s-pw']) {
    t.notOk(message.includes(secret), `does not contain ${secret.slice(0, 4)}…`)
  }
  const fromOption = failure(t, { OIDC_SCOPE: 'x' }, { sessionSecret: ['too-short-option-secret'] })
  t.notOk(fromOption.includes('too-short-option-secret'))
  t.match(failure(t, { OIDC_SESSION_SECRET: ' , ' }), /OIDC_SESSION_SECRET: required/, 'a list of blanks is no secret')
})

t.test('process.env is the default source', async (t) => {
  const saved = { ...process.env }
  t.teardown(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
    Object.assign(process.env, saved)
  })
  Object.assign(process.env, VALID, { OIDC_CLIENT_ID: 'from-process-env' })
  t.equal(resolveConfig().clientId, 'from-process-env')
  t.equal(resolveConfig({ clientId: 'option' }).clientId, 'option')
})

t.test('an invalid configuration fails at register(), before any request', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(fastifyOidc, { env: { OIDC_ISSUER: 'http://idp.example.com', OIDC_SESSION_SECRET: 'tiny-secret-xyz', OIDC_SCOPE: 'email' } })
  const err = await app.ready().then(() => null, (e: unknown) => e as { code: string, message: string })
  t.ok(err, 'ready() rejects')
  t.equal(err?.code, 'FST_OIDC_CONFIG_INVALID')
  for (const name of ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_BASE_URL', 'OIDC_SESSION_SECRET', 'OIDC_SCOPE']) {
    t.ok(err?.message.includes(name), `names ${name}`)
  }
  t.notOk(err?.message.includes('tiny-secret-xyz'), 'the short secret is not echoed')
})
