// How the client authenticates at the token endpoint follows the IdP's
// `token_endpoint_auth_methods_supported`: client_secret_basic when listed — or
// when the IdP says nothing, as that is the spec's default (RFC 8414 2) — and
// client_secret_post only when Basic is not offered.
import t from 'tap'
import { buildApp } from '../helpers/build-app.js'
import { Browser } from '../helpers/browser.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

const cases: Array<{ name: string, methods: string[] | undefined, expected: 'client_secret_basic' | 'client_secret_post' }> = [
  { name: 'not advertised', methods: undefined, expected: 'client_secret_basic' },
  { name: 'basic and post', methods: ['client_secret_post', 'client_secret_basic'], expected: 'client_secret_basic' },
  { name: 'post only', methods: ['client_secret_post'], expected: 'client_secret_post' }
]

for (const { name, methods, expected } of cases) {
  t.test(`auth methods ${name} -> ${expected}`, async (t) => {
    const op = await startHostileOp(t)
    if (methods === undefined) delete op.metadata.token_endpoint_auth_methods_supported
    else op.metadata.token_endpoint_auth_methods_supported = methods
    const seen: string[] = []
    op.onToken = (ctx) => {
      seen.push(ctx.client.method)
      return undefined
    }
    const { baseUrl, events } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
    const res = await new Browser().follow(`${baseUrl}/auth/login?returnTo=/public`, { stopAt: (url) => url.origin === baseUrl && url.pathname === '/public' })
    t.equal(res.stoppedAt, `${baseUrl}/public`, 'the login succeeded')
    t.same(events.map((e) => e.type), ['login'])
    t.same(seen, [expected], `the code exchange used ${expected}`)
    const [request] = op.requests('/token')
    if (expected === 'client_secret_basic') {
      t.match(request?.headers.authorization, /^Basic /, 'an Authorization header')
      t.notOk('client_secret' in (request?.body ?? {}), 'no secret in the body')
    } else {
      t.equal(request?.headers.authorization, undefined, 'no Authorization header')
      t.equal(request?.body['client_secret'], op.clientSecret, 'the secret in the body')
    }
  })
}
