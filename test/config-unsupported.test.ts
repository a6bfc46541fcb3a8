// OIDC_PRESET and OIDC_PROVIDERS are in the contract but not built yet: setting
// either fails at register() with FST_OIDC_CONFIG_INVALID naming the variable
// (never silently ignored, never at the first request). Empty values are unset.
import Fastify from 'fastify'
import t from 'tap'
import fastifyOidc, { resolveConfig } from '../lib/index.js'

const VALID = {
  OIDC_ISSUER: 'https://idp.example.com/realms/main',
  OIDC_CLIENT_ID: 'shop',
  OIDC_BASE_URL: 'https://shop.example.com',
  OIDC_SESSION_SECRET: 'config-unsupported-session-secret-0123456789'
}

/** The FST_OIDC_CONFIG_INVALID message for `env`, or null when it resolves. */
function problem (env: Record<string, string>): string | null {
  try {
    resolveConfig({ env: { ...VALID, ...env } })
    return null
  } catch (err) {
    const { code, message } = err as { code?: string, message: string }
    return code === 'FST_OIDC_CONFIG_INVALID' ? message : `unexpected ${code}: ${message}`
  }
}

t.test('OIDC_PRESET=keycloak -> FST_OIDC_CONFIG_INVALID naming OIDC_PRESET', async (t) => {
  const message = problem({ OIDC_PRESET: 'keycloak' })
  t.match(message, /- OIDC_PRESET: not supported/)
  t.notMatch(message, /OIDC_PROVIDERS/, 'only the variable that is set')
})

t.test('OIDC_PROVIDERS=a,b -> FST_OIDC_CONFIG_INVALID naming OIDC_PROVIDERS', async (t) => {
  const message = problem({ OIDC_PROVIDERS: 'a,b' })
  t.match(message, /- OIDC_PROVIDERS: not supported/)
  t.notMatch(message, /OIDC_PRESET/)
})

t.test('both, with another bad variable: one error naming all three', async (t) => {
  const message = problem({ OIDC_PRESET: 'okta', OIDC_PROVIDERS: 'keycloak,google', OIDC_HTTP_TIMEOUT: 'soon' })
  t.match(message, /OIDC_PRESET/)
  t.match(message, /OIDC_PROVIDERS/)
  t.match(message, /OIDC_HTTP_TIMEOUT/)
})

t.test('empty or blank values are unset and accepted', async (t) => {
  t.equal(problem({ OIDC_PRESET: '', OIDC_PROVIDERS: '  ' }), null)
})

t.test('register() fails before any request (no discovery attempted)', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(fastifyOidc, { env: { ...VALID, OIDC_PRESET: 'keycloak' } })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_PRESET/ })
})
