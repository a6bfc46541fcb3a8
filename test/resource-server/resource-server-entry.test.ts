// The second entry point, fastify-oidc/resource-server (lib/resource-server/index.ts):
// the same plugin, config resolver and error classes as the main entry, nothing of the
// relying party (its import graph is checked by npm run depcruise; the packed subpath
// export by test/package.test.ts).
import Fastify from 'fastify'
import t from 'tap'
import * as main from '../../lib/index.js'
import * as entry from '../../lib/resource-server/index.js'
import oidcResourceServer from '../../lib/resource-server/index.js'

t.test('the plugin is the default and named export, the same as the main entry\'s', async (t) => {
  t.equal(oidcResourceServer, main.oidcResourceServer)
  t.equal(entry.oidcResourceServer, main.oidcResourceServer)
  t.equal(entry.resolveResourceServerConfig, main.resolveResourceServerConfig)
})

t.test('every error class of the main entry, the same classes', async (t) => {
  const errors = Object.entries(main).filter(([name]) => /^(Oidc\w+Error|isOidcError)$/.test(name))
  t.ok(errors.length > 30)
  for (const [name, value] of errors) t.equal((entry as Record<string, unknown>)[name], value, name)
})

t.test('none of the relying party: no fastifyOidc, no stores, no resolveConfig', async (t) => {
  t.same(Object.keys(entry).filter((name) => !/^(Oidc\w+Error|isOidcError)$/.test(name)).sort(), ['default', 'oidcResourceServer', 'resolveResourceServerConfig'])
})

t.test('registered from this entry, requireBearer answers RFC 6750 without a token', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  // Explicit JWKS URI: no discovery call is made; no token means the keys are never fetched.
  await app.register(oidcResourceServer, { issuer: 'https://idp.example.com', audience: 'reviews', jwksUri: 'https://idp.example.com/jwks', env: {} })
  app.get('/reviews', { preHandler: app.requireBearer() }, async () => ({ ok: true }))
  const res = await app.inject({ url: '/reviews' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="reviews"')
})
