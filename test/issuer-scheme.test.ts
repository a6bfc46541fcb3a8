// An issuer written without its scheme (issue 12, point 5): one clear line
// naming the setting, the value and the fix — not "expected an absolute URL"
// followed by "required".
import t from 'tap'
import { oidcResourceServer, resolveConfig, resolveResourceServerConfig } from '../lib/index.js'
import Fastify from 'fastify'
import { SESSION_SECRET } from './helpers/build-app.js'

const rp = (issuer: string): unknown => resolveConfig({ env: { OIDC_ISSUER: issuer }, clientId: 'app', baseUrl: 'http://localhost:3000', sessionSecret: SESSION_SECRET })

t.test('an issuer without a scheme: one line that says what to write', async (t) => {
  for (const issuer of ['idp.example.com', 'idp.example.com/realms/demo', 'localhost:8080/realms/demo']) {
    const err = t.throws(() => rp(issuer), { code: 'FST_OIDC_CONFIG_INVALID' }) as unknown as Error
    const lines = err.message.split('\n').slice(1)
    t.same(lines, [`  - OIDC_ISSUER: "${issuer}" has no scheme: write https://${issuer} (or http:// for a loopback host)`], issuer)
  }
  t.throws(() => resolveResourceServerConfig({ env: {}, issuer: 'idp.example.com', audience: 'api' }), { message: /OIDC_ISSUER: "idp\.example\.com" has no scheme: write https:\/\/idp\.example\.com/ })
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(oidcResourceServer, { env: {}, issuer: 'localhost:8080', audience: 'api' }); await app.ready() }, { code: 'FST_OIDC_CONFIG_INVALID', message: /has no scheme/ }, 'at register()')
  t.throws(() => rp('not a url'), { message: /OIDC_ISSUER: expected an absolute URL, got "not a url"/ }, 'anything else keeps its line')
})
