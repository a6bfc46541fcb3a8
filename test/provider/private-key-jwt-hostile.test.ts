// private_key_jwt against the scriptable OP: what the assertion carries (RFC 7523),
// the algorithm picked from the IdP's list, an IdP accepting none the key can sign
// (start-up error), and a token endpoint refusing the assertion (invalid_client:
// 401, coded, audited, logged with the settings to check, no key material).
import t from 'tap'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { Browser } from '../helpers/browser.js'
import { buildApp, registerError } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

async function keyPair (alg: 'RS256' | 'ES256' = 'RS256'): Promise<{ pem: string, publicJwk: Awaited<ReturnType<typeof exportJWK>> }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { pem: await exportPKCS8(privateKey), publicJwk: await exportJWK(publicKey) }
}

t.test('the assertion: iss = sub = client_id, aud = issuer, fresh jti, exp 60 s after iat, kid; the first listed alg the key signs', async (t) => {
  const key = await keyPair()
  const op = await startHostileOp(t, { clientPublicJwk: key.publicJwk })
  op.metadata['token_endpoint_auth_signing_alg_values_supported'] = ['ES256', 'PS256', 'RS256']
  const assertions: Array<{ header: Record<string, unknown>, claims: Record<string, unknown> }> = []
  op.onToken = (ctx) => {
    if (ctx.client.assertion !== undefined) assertions.push(ctx.client.assertion)
    return undefined
  }
  const { baseUrl, events, logs } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientPrivateKey: key.pem, clientKeyId: 'k-1' })
  const start = logs.map((line) => JSON.parse(line) as { msg: string, client?: string }).find((l) => l.msg.includes('sends redirect_uri'))
  t.match(start, { client: 'confidential', msg: /as a confidential client \(private_key_jwt, key id "k-1", its public key served at <prefix>\/jwks\)$/ }, 'the start-up line')
  const browser = new Browser()
  const res = await browser.follow(`${baseUrl}/auth/login?returnTo=/public`, { stopAt: (url) => url.pathname === '/public' })
  t.equal(res.stoppedAt, `${baseUrl}/public`, 'logged in')
  t.equal((await browser.post(`${baseUrl}/auth/refresh`, {})).status, 200, 'refreshed')
  t.same(events.map((e) => e.type), ['login', 'refresh'])
  t.equal(assertions.length, 2)
  const [first, second] = assertions
  t.match(first!.header, { alg: 'PS256', kid: 'k-1' })
  t.match(first!.claims, { iss: op.clientId, sub: op.clientId, aud: op.issuer })
  t.equal((first!.claims['exp'] as number) - (first!.claims['iat'] as number), 60)
  t.not(first!.claims['jti'], second!.claims['jti'], 'a fresh jti for each request')
  const [token] = op.requests('/token')
  t.equal(token?.headers.authorization, undefined, 'no Basic credentials')
  t.notOk('client_secret' in (token?.body ?? {}), 'no secret')
})

t.test('an IdP that accepts no algorithm the key can sign: register() fails naming the key variable', async (t) => {
  const key = await keyPair('ES256')
  const op = await startHostileOp(t, { clientPublicJwk: key.publicJwk })
  op.metadata['token_endpoint_auth_signing_alg_values_supported'] = ['RS256', 'PS256']
  const err = await registerError(t, { issuer: op.issuer, clientId: op.clientId, clientPrivateKey: key.pem })
  t.equal(err?.code, 'FST_OIDC_DISCOVERY_FAILED')
  t.match(err?.message, /RS256,PS256, which the key of OIDC_CLIENT_PRIVATE_KEY cannot sign \(it signs ES256\)/)
})

t.test('the token endpoint refuses the assertion (another key): 401 FST_OIDC_IDP_ERROR, login_failure, a hint naming the settings, no key material logged', async (t) => {
  const registered = await keyPair()
  const used = await keyPair()
  const op = await startHostileOp(t, { clientPublicJwk: registered.publicJwk })
  const { baseUrl, events, logs } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, tokenAuthMethod: 'private_key_jwt', clientPrivateKey: used.pem })
  const res = await new Browser().follow(`${baseUrl}/auth/login?returnTo=/public`, { stopAt: (url) => url.pathname === '/public' })
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_IDP_ERROR')
  t.match(JSON.parse(res.body).message, /the token endpoint answered invalid_client/)
  t.same(events.map((e) => [e.type, e.reason]), [['login_failure', 'token_error']])
  const hint = logs.find((line) => line.includes('(invalid_client)'))
  t.match(hint, /sent with private_key_jwt .*OIDC_CLIENT_KEY_ID.*<prefix>\/jwks.*OIDC_TOKEN_AUTH_METHOD/)
  const secretLine = used.pem.split('\n')[2]!
  t.notOk(logs.some((line) => line.includes(secretLine) || line.includes('client_assertion')), 'neither the key nor the assertion is logged')
  t.equal(op.requests('/token').length, 1)
})

t.test('presets shape the assertion: Okta and Entra ID want the token endpoint as aud, Entra the certificate thumbprint as x5t; an Ed25519 key signs EdDSA', async (t) => {
  const cases: Array<{ preset: 'okta' | 'entra' | undefined, alg: 'RS256' | 'Ed25519', listed: string[], header: Record<string, unknown>, aud: 'token' | 'issuer' }> = [
    { preset: 'okta', alg: 'RS256', listed: ['EdDSA', 'RS256'], header: { alg: 'RS256', kid: 'thumb' }, aud: 'token' },
    { preset: 'entra', alg: 'RS256', listed: ['EdDSA', 'RS256'], header: { alg: 'RS256', kid: 'thumb', x5t: 'thumb' }, aud: 'token' },
    { preset: undefined, alg: 'Ed25519', listed: ['EdDSA', 'RS256'], header: { alg: 'EdDSA', kid: 'thumb' }, aud: 'issuer' },
    { preset: undefined, alg: 'Ed25519', listed: ['Ed25519'], header: { alg: 'Ed25519', kid: 'thumb' }, aud: 'issuer' }
  ]
  for (const { preset, alg, listed, header, aud } of cases) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const op = await startHostileOp(t, { clientPublicJwk: await exportJWK(publicKey) })
    op.metadata['token_endpoint_auth_signing_alg_values_supported'] = listed
    const seen: Array<{ header: Record<string, unknown>, claims: Record<string, unknown> }> = []
    op.onToken = (ctx) => {
      seen.push(ctx.client.assertion!)
      return undefined
    }
    const { baseUrl } = await buildApp(t, { port: await freePort(), preset, issuer: op.issuer, clientId: op.clientId, clientPrivateKey: await exportPKCS8(privateKey), clientKeyId: 'thumb' })
    const res = await new Browser().follow(`${baseUrl}/auth/login?returnTo=/public`, { stopAt: (url) => url.pathname === '/public' })
    t.equal(res.stoppedAt, `${baseUrl}/public`, `${String(preset)} ${alg}: logged in`)
    t.match(seen[0]?.header, header)
    t.equal(seen[0]?.claims['aud'], aud === 'token' ? op.url('/token') : op.issuer)
  }
})

t.test('revocation by a private_key_jwt client goes through oauth4webapi with an assertion; its error answers are coded', async (t) => {
  const key = await keyPair()
  const op = await startHostileOp(t, { clientPublicJwk: key.publicJwk })
  const { app } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientPrivateKey: key.pem })
  const client = app.oidc.client()
  t.equal(await client.revoke('a-refresh-token'), true)
  const [request] = op.requests('/revoke')
  t.match(request?.body, { token: 'a-refresh-token', token_type_hint: 'refresh_token', client_id: op.clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' })
  t.type(request?.body['client_assertion'], 'string')

  const answers: Array<[Record<string, unknown>, string, string]> = [
    [{ status: 400, body: { error: 'unsupported_token_type' } }, 'FST_OIDC_IDP_ERROR', 'revocation_error'],
    [{ status: 400, body: { error: 'invalid_grant' } }, 'FST_OIDC_INVALID_GRANT', 'invalid_grant'],
    [{ status: 401, body: '', headers: { 'www-authenticate': 'Bearer error="invalid_client"' } }, 'FST_OIDC_IDP_ERROR', 'revocation_error'],
    [{ status: 403, body: '', headers: { 'www-authenticate': 'Basic realm="op"' } }, 'FST_OIDC_IDP_BAD_RESPONSE', 'revocation_error'],
    [{ status: 503, body: 'down' }, 'FST_OIDC_IDP_BAD_RESPONSE', 'revocation_error']
  ]
  for (const [script, code, reason] of answers) {
    op.onRevoke = () => script
    const err = await client.revoke('tok', 'access_token').then(() => undefined, (e: unknown) => e as { code?: string, reason?: string })
    t.match(err, { code, reason }, `${String(script['status'])} -> ${code}`)
  }
})

t.test('a configured method the IdP does not list: a start-up warning', async (t) => {
  const op = await startHostileOp(t)
  op.metadata.token_endpoint_auth_methods_supported = ['client_secret_basic']
  const { logs } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, tokenAuthMethod: 'client_secret_post' })
  const warning = logs.map((line) => JSON.parse(line) as { level: number, msg: string }).find((l) => l.level === 40 && l.msg.includes('TOKEN_AUTH_METHOD'))
  t.equal(warning?.msg, 'oidc: provider default is configured with OIDC_TOKEN_AUTH_METHOD=client_secret_post, which its IdP\'s metadata does not list (client_secret_basic): expect invalid_client')
})
