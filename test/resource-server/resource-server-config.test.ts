// resolveResourceServerConfig: every OIDC_* variable of oidcResourceServer,
// options over env, and one FST_OIDC_CONFIG_INVALID naming every bad setting
// (never a secret's value).
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { oidcResourceServer, resolveResourceServerConfig, type OidcResourceServerOptions } from '../../lib/index.js'

const VALID = { OIDC_ISSUER: 'https://idp.example.com/realms/main', OIDC_AUDIENCE: 'https://api.example.com, reviews' }

function resolve (env: Record<string, string | undefined> = {}, options: OidcResourceServerOptions = {}) {
  return resolveResourceServerConfig({ env: { ...VALID, ...env }, ...options })
}

function failure (t: Test, env: Record<string, string | undefined>, options: OidcResourceServerOptions = {}): string {
  try {
    resolve(env, options)
  } catch (err) {
    t.match(err, { code: 'FST_OIDC_CONFIG_INVALID', statusCode: 500 })
    return (err as Error).message
  }
  t.fail('an invalid configuration was accepted')
  return ''
}

t.test('defaults from a minimal environment', async (t) => {
  const config = resolve()
  t.same(config, {
    issuer: VALID.OIDC_ISSUER,
    audiences: ['https://api.example.com', 'reviews'],
    discoveryUrl: VALID.OIDC_ISSUER,
    jwksUri: undefined,
    introspection: undefined,
    verifiedTokenCacheTtl: 60,
    jwksMaxStale: 86400,
    accessTokenTypes: ['at+jwt'],
    algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    clockTolerance: 60,
    httpTimeout: 5000,
    allowHttp: false,
    realm: 'https://api.example.com',
    rolesClaim: 'roles',
    dpop: 'allowed',
    replayStore: undefined
  })
  t.ok(Object.isFrozen(config))
})

t.test('every variable from the environment', async (t) => {
  const config = resolve({
    OIDC_DISCOVERY_URL: 'http://keycloak.internal:8080/realms/main',
    OIDC_ALLOW_HTTP: 'true',
    OIDC_JWKS_URI: 'http://keycloak.internal:8080/realms/main/certs',
    OIDC_INTROSPECTION_ENDPOINT: 'http://keycloak.internal:8080/introspect',
    OIDC_INTROSPECTION_CLIENT_ID: 'reviews',
    OIDC_INTROSPECTION_CLIENT_SECRET: 'reviews-secret',
    OIDC_INTROSPECTION_CACHE_TTL: '30',
    OIDC_ACCESS_TOKEN_TYPES: 'AT+JWT, application/at+jwt, JWT',
    OIDC_ACCESS_TOKEN_ALGS: 'ES256,EdDSA',
    OIDC_CLOCK_TOLERANCE: '10',
    OIDC_HTTP_TIMEOUT: '2000',
    OIDC_REALM: 'reviews',
    OIDC_ROLES_CLAIM: 'realm_access.roles'
  })
  t.match(config, {
    discoveryUrl: 'http://keycloak.internal:8080/realms/main',
    allowHttp: true,
    jwksUri: 'http://keycloak.internal:8080/realms/main/certs',
    introspection: { endpoint: 'http://keycloak.internal:8080/introspect', clientId: 'reviews', clientSecret: 'reviews-secret', cacheTtl: 30 },
    accessTokenTypes: ['at+jwt', 'jwt'],
    algorithms: ['ES256', 'EdDSA'],
    clockTolerance: 10,
    httpTimeout: 2000,
    realm: 'reviews',
    rolesClaim: 'realm_access.roles'
  })
  t.equal(resolve({ OIDC_ACCESS_TOKEN_TYPES: 'any' }).accessTokenTypes, 'any')
})

t.test('options win over env; the audience may be a list or one string', async (t) => {
  const config = resolve({ OIDC_REALM: 'env' }, { issuer: 'https://other.example.com', audience: ['a', 'b'], realm: 'opt', clockTolerance: 0, accessTokenTypes: ['any'] })
  t.match(config, { issuer: 'https://other.example.com', audiences: ['a', 'b'], realm: 'opt', clockTolerance: 0, accessTokenTypes: 'any' })
  t.same(resolve({}, { audience: 'only-one' }).audiences, ['only-one'])
})

t.test('introspection: on when an endpoint or its own client id is configured, or asked for', async (t) => {
  t.equal(resolve({ OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 's' }).introspection, undefined, 'the relying party\'s client alone does not turn it on')
  t.match(resolve({ OIDC_INTROSPECTION_ENDPOINT: 'https://idp.example.com/introspect', OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 's' }).introspection,
    { endpoint: 'https://idp.example.com/introspect', clientId: 'app', clientSecret: 's', cacheTtl: 60 }, 'falls back to OIDC_CLIENT_ID / OIDC_CLIENT_SECRET')
  t.match(resolve({ OIDC_INTROSPECTION_CLIENT_ID: 'rs', OIDC_INTROSPECTION_CLIENT_SECRET: 'x' }).introspection, { endpoint: undefined, clientId: 'rs' }, 'endpoint to discover')
  t.match(resolve({ OIDC_INTROSPECT: 'true', OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 's' }).introspection, { clientId: 'app' })
  t.equal(resolve({ OIDC_INTROSPECT: 'false', OIDC_INTROSPECTION_ENDPOINT: 'https://idp.example.com/introspect' }).introspection, undefined, 'explicitly off')
  t.match(resolve({}, { clientId: 'opt', clientSecret: 'opt-secret' }).introspection, { clientId: 'opt', clientSecret: 'opt-secret' })
})

t.test('every problem at once, naming each variable', async (t) => {
  const message = failure(t, {
    OIDC_ISSUER: 'http://idp.example.com',
    OIDC_AUDIENCE: undefined,
    OIDC_ACCESS_TOKEN_ALGS: 'RS256,HS256,none',
    OIDC_CLOCK_TOLERANCE: '301',
    OIDC_HTTP_TIMEOUT: 'soon',
    OIDC_INTROSPECTION_CACHE_TTL: '7200',
    OIDC_INTROSPECT: 'maybe',
    OIDC_JWKS_URI: 'not a url'
  })
  for (const name of ['OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_ACCESS_TOKEN_ALGS', 'OIDC_CLOCK_TOLERANCE', 'OIDC_HTTP_TIMEOUT', 'OIDC_INTROSPECTION_CACHE_TTL', 'OIDC_INTROSPECT', 'OIDC_JWKS_URI']) {
    t.match(message, new RegExp(`- ${name}: `), name)
  }
  t.match(message, /HS256,none/, 'the refused algorithms')
  t.notMatch(message, /OIDC_REALM/, 'no realm complaint for a missing audience')
})

t.test('more problems: credentials, types, algorithms, realm, audience entries', async (t) => {
  const credentials = failure(t, { OIDC_INTROSPECT: 'true', OIDC_CLIENT_SECRET: 'top-secret-value' }, { clientSecret: '' })
  t.match(credentials, /OIDC_INTROSPECTION_CLIENT_ID: required/)
  t.match(credentials, /OIDC_INTROSPECTION_CLIENT_SECRET: required/)
  t.notMatch(credentials, /top-secret-value/)
  t.match(failure(t, {}, { accessTokenTypes: [] }), /OIDC_ACCESS_TOKEN_TYPES: expected at least one/)
  t.match(failure(t, {}, { algorithms: [] }), /OIDC_ACCESS_TOKEN_ALGS/)
  t.match(failure(t, { OIDC_REALM: 'say "hi"' }), /OIDC_REALM: expected printable ASCII/)
  t.match(failure(t, {}, { audience: ['ok', ''] }), /OIDC_AUDIENCE: required/)
  t.match(failure(t, {}, { audience: [42 as unknown as string] }), /OIDC_AUDIENCE: required/, 'not a string')
  t.match(failure(t, { OIDC_ISSUER: undefined }), /OIDC_ISSUER: required/)
})

t.test('register() fails with the same error, before any network call', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(oidcResourceServer, { env: { OIDC_ISSUER: 'https://idp.example.com' } })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_OIDC_CONFIG_INVALID' })
})

t.test('without env, process.env is read', async (t) => {
  const saved = process.env['OIDC_AUDIENCE']
  process.env['OIDC_AUDIENCE'] = 'from-process-env'
  t.teardown(() => {
    if (saved === undefined) delete process.env['OIDC_AUDIENCE']
    else process.env['OIDC_AUDIENCE'] = saved
  })
  t.same(resolveResourceServerConfig({ issuer: 'https://idp.example.com' }).audiences, ['from-process-env'])
})

t.test('the plugin: fastify-plugin wrapped, named, for Fastify 5', async (t) => {
  const meta = oidcResourceServer as unknown as Record<symbol, unknown>
  t.equal(meta[Symbol.for('skip-override')], true, 'not encapsulated: requireBearer reaches the app')
  t.match(meta[Symbol.for('plugin-meta')], { name: 'fastify-oidc-resource-server', fastify: '5.x' })
})
