// Set-up mistakes that say what to do: the start-up line names the redirect URI and
// the kind of client; invalid_client at the token endpoint is logged with the
// settings that fix it (never the secret); a login started on 127.0.0.1 while the
// base URL says localhost goes to the base URL first.
import t from 'tap'
import { envPrefix, invalidClientHint, startLine } from '../../lib/provider/client-auth.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort, startProvider } from '../helpers/provider.js'

const lines = (logs: string[]): Array<{ level: number, msg: string, [key: string]: unknown }> => logs.map((line) => JSON.parse(line))

t.test('start-up: one info line with the redirect URI and the kind of client', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl, logs } = await buildApp(t, {
    port,
    issuer: idp.issuer,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    redirectUris: ['/authorize']
  })
  const started = lines(logs).filter((l) => l.msg.startsWith('oidc: provider default sends redirect_uri'))
  t.equal(started.length, 1)
  t.equal(started[0]!.level, 30, 'info')
  t.equal(started[0]!['redirectUri'], `${baseUrl}/auth/callback`)
  t.equal(started[0]!['client'], 'confidential')
  t.match(started[0]!.msg, `${baseUrl}/auth/callback (own routes may send ${baseUrl}/authorize)`)
  t.match(started[0]!.msg, /as a confidential client \(client_secret_basic\)$/)
  t.notOk(logs.join('\n').includes(idp.client.clientSecret!), 'the secret is not logged')
})

t.test('a confidential client configured without OIDC_CLIENT_SECRET: invalid_client is logged with the fix', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl, logs, events } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId })
  t.ok(lines(logs).some((l) => l['client'] === 'public' && l.msg.endsWith('as a public client (no OIDC_CLIENT_SECRET: PKCE only)')), 'start-up says public')
  const final = await loginAtProvider(new Browser(), `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 401)
  t.equal(JSON.parse(final.body).code, 'FST_OIDC_IDP_ERROR')
  t.same(events.map((e) => [e.type, e.reason]), [['login_failure', 'token_error']])
  const hint = lines(logs).filter((l) => l.msg.includes('(invalid_client)'))
  t.equal(hint.length, 1)
  t.equal(hint[0]!.level, 50, 'error level')
  t.match(hint[0]!.msg, 'sent as a public client (no OIDC_CLIENT_SECRET is set): if the IdP registered a confidential client, set OIDC_CLIENT_SECRET, and OIDC_TOKEN_AUTH_METHOD')
})

t.test('a wrong client secret: the hint names the method sent, never the secret', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const { baseUrl, logs } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: 'not-the-secret-9f8e7d' })
  const final = await loginAtProvider(new Browser(), `${baseUrl}/auth/login`)
  t.equal(final.status, 401)
  const hint = lines(logs).find((l) => l.msg.includes('(invalid_client)'))
  t.match(hint?.msg, 'sent with client_secret_basic (OIDC_CLIENT_SECRET is set, not shown): check OIDC_CLIENT_SECRET, and set OIDC_TOKEN_AUTH_METHOD')
  t.notOk(logs.join('\n').includes('not-the-secret-9f8e7d'), 'the secret is not logged')
})

t.test('/auth/login on 127.0.0.1 while the base URL is localhost: 302 to the same login on localhost first', async (t) => {
  const op = await startHostileOp(t)
  const port = await freePort()
  const { app, logs } = await buildApp(t, { port, baseUrl: `http://localhost:${port}`, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  const moved = await app.inject({ url: '/auth/login?returnTo=/private&provider=default', headers: { host: `127.0.0.1:${port}` } })
  t.equal(moved.statusCode, 302)
  t.equal(moved.headers.location, `http://localhost:${port}/auth/login?returnTo=/private&provider=default`, 'same path and query')
  t.equal(moved.headers['set-cookie'], undefined, 'no login transaction on the wrong host')
  const ipv6 = await app.inject({ url: '/auth/login', headers: { host: `[::1]:${port}` } })
  t.equal(ipv6.headers.location, `http://localhost:${port}/auth/login`)

  for (const host of [`localhost:${port}`, `LOCALHOST:${port}`]) {
    const here = await app.inject({ url: '/auth/login', headers: { host } })
    t.equal(here.statusCode, 302)
    t.ok(here.headers.location!.startsWith(op.issuer), `${host}: on to the IdP`)
  }
  for (const host of [`127.0.0.1:${port + 1}`, 'proxy.internal:8080', 'proxy.internal:8080']) {
    const other = await app.inject({ url: '/auth/login', headers: { host } })
    t.ok(other.headers.location!.startsWith(op.issuer), `${host}: another port or a non-loopback host is not redirected (a proxy could loop)`)
  }
  const warned = lines(logs).filter((l) => l.level === 40 && l.msg.includes('but OIDC_BASE_URL is'))
  t.same(warned.map((l) => l['host']), [`127.0.0.1:${port + 1}`, 'proxy.internal:8080'], 'one warning per host, naming both')
  t.match(warned[1]!.msg, `a login started on http://proxy.internal:8080 but OIDC_BASE_URL is http://localhost:${port}`)
})

t.test('the hints name each provider\'s own env vars', async (t) => {
  t.equal(envPrefix({ name: 'default' }), 'OIDC_')
  t.equal(envPrefix({ name: 'my-idp' }), 'OIDC_MY_IDP_')
  t.match(invalidClientHint({ name: 'my-idp', clientId: 'app' }, 'client_secret_post'), 'check OIDC_MY_IDP_CLIENT_SECRET, and set OIDC_MY_IDP_TOKEN_AUTH_METHOD')
  const provider = { name: 'staff', clientId: 'app', clientSecret: 's3cret', redirectUri: 'https://app.example/auth/callback/staff' }
  t.equal(startLine(provider, [], undefined), 'oidc: provider staff sends redirect_uri https://app.example/auth/callback/staff for client_id "app" as a confidential client (OIDC_STAFF_CLIENT_SECRET is set)')
  t.match(startLine(provider, [], { issuer: 'x', token_endpoint_auth_methods_supported: ['client_secret_post'] }), /\(client_secret_post\)$/)
})
