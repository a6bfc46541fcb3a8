// Split-horizon per provider, from env vars only: OIDC_<NAME>_DISCOVERY_URL is the
// cluster-internal name (here `localhost`) the app fetches metadata, keys and
// tokens from; the browser is sent to the public issuer's host (here
// `127.0.0.1`); `iss` — of the callback and of the ID token — must still be the
// public issuer. (discovery.test.ts covers the other direction, single provider.)
import t, { type Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

async function splitHorizon (t: Test): Promise<{ op: HostileOp, app: TestApp, internal: string }> {
  const op = await startHostileOp(t)
  const internal = `http://localhost:${op.port}`
  const app = await buildApp(t, {
    port: await freePort(),
    env: {
      OIDC_PROVIDERS: 'other,corp',
      OIDC_OTHER_ISSUER: 'https://127.0.0.1:1',
      OIDC_OTHER_CLIENT_ID: 'x',
      OIDC_OTHER_AUTHORIZATION_ENDPOINT: 'https://127.0.0.1:1/authorize',
      OIDC_OTHER_TOKEN_ENDPOINT: 'https://127.0.0.1:1/token',
      OIDC_OTHER_JWKS_URI: 'https://127.0.0.1:1/jwks',
      OIDC_CORP_ISSUER: op.issuer,
      OIDC_CORP_DISCOVERY_URL: internal,
      OIDC_CORP_CLIENT_ID: op.clientId,
      OIDC_CORP_CLIENT_SECRET: op.clientSecret!
    }
  })
  return { op, app, internal }
}

t.test('metadata, token and keys from the internal host; the browser on the public one', async (t) => {
  const { op, app } = await splitHorizon(t)
  const browser = new Browser()
  const res = await browser.follow(`${app.baseUrl}/auth/login?provider=corp&returnTo=/private`)
  t.equal(res.url, `${app.baseUrl}/private`)
  t.same(app.events.map((e) => [e.type, e.provider]), [['login', 'corp']])
  const host = (path: string): string[] => op.requests(path).map((r) => r.headers.host!)
  t.same(host('/.well-known/openid-configuration'), [`localhost:${op.port}`], 'metadata from the internal name')
  t.same(host('/authorize'), [`127.0.0.1:${op.port}`], 'the browser at the public issuer')
  t.same(host('/token'), [`localhost:${op.port}`], 'code exchanged internally')
  t.ok(host('/jwks').length > 0 && host('/jwks').every((h) => h === `localhost:${op.port}`), 'keys fetched internally')
})

t.test('iss naming the internal host is refused: in the callback (400) and in the ID token (401)', async (t) => {
  const { op, app, internal } = await splitHorizon(t)
  op.onAuthorize = (_params, defaults) => ({ ...defaults, iss: internal })
  let res = await new Browser().follow(`${app.baseUrl}/auth/login?provider=corp`)
  t.equal(res.status, 400)
  t.match(JSON.parse(res.body), { code: 'FST_OIDC_ISS_MISMATCH' })
  t.equal(op.requests('/token').length, 0)

  op.onAuthorize = undefined
  op.onToken = async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), iss: internal }) } })
  res = await new Browser().follow(`${app.baseUrl}/auth/login?provider=corp`)
  t.equal(res.status, 401)
  t.same(app.events.map((e) => [e.type, e.reason]), [['login_failure', 'iss_mismatch'], ['login_failure', 'id_token_iss']])
})
