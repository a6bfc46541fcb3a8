// Pushed authorization requests against the scriptable OP: what is pushed and what
// the browser carries, the push authenticated like the token requests, and a PAR
// endpoint that refuses (400 invalid_request, 401 invalid_client: 502
// FST_OIDC_PAR_REJECTED), fails (5xx: 502) or does not answer (504) — each audited,
// no login transaction left behind; OIDC_PAR=true without a PAR endpoint fails at start.
import t from 'tap'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { Browser } from '../helpers/browser.js'
import { buildApp, registerError } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

t.test('OIDC_PAR=true: every authorization parameter is pushed with the client credentials; the browser carries client_id and request_uri only', async (t) => {
  const op = await startHostileOp(t)
  const { baseUrl, events } = await buildApp(t, { port: await freePort(), env: { OIDC_PAR: 'true' }, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  const browser = new Browser()
  const res = await browser.follow(`${baseUrl}/auth/login?returnTo=/private`)
  t.equal(res.status, 200, 'logged in')
  t.same(events.map((e) => e.type), ['login'])
  const [authorize] = op.requests('/authorize')
  t.same(Object.keys(authorize!.query).sort(), ['client_id', 'request_uri'])
  t.match(authorize!.query['request_uri'], /^urn:ietf:params:oauth:request_uri:/)
  const [push] = op.requests('/par', 'POST')
  t.match(push!.headers.authorization, /^Basic /, 'client_secret_basic, as at the token endpoint')
  t.match(push!.body, { response_type: 'code', client_id: op.clientId, redirect_uri: `${baseUrl}/auth/callback`, code_challenge_method: 'S256', scope: 'openid profile email' })
  for (const name of ['state', 'nonce', 'code_challenge']) t.type(push!.body[name], 'string', `${name} pushed`)

  // The callback checks stay: the same answer replayed is refused.
  const again = await browser.follow(res.hops.find((h) => h.url.startsWith(`${baseUrl}/auth/callback`))!.url)
  t.equal(again.status, 400, 'a replayed callback is still refused')
})

t.test('PAR with private_key_jwt: the push carries a fresh assertion', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const op = await startHostileOp(t, { clientPublicJwk: await exportJWK(publicKey) })
  op.metadata['require_pushed_authorization_requests'] = true
  const seen: string[] = []
  op.onPar = (_params, client) => {
    seen.push(client.method)
    return undefined
  }
  const { baseUrl } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientPrivateKey: await exportPKCS8(privateKey) })
  const res = await new Browser().follow(`${baseUrl}/auth/login?returnTo=/private`)
  t.equal(res.status, 200, 'logged in (PAR used because the metadata requires it)')
  t.same(seen, ['private_key_jwt'])
})

const failures: Array<{ name: string, script: Record<string, unknown>, status: number, code: string, reason: string }> = [
  { name: '400 invalid_request', script: { status: 400, body: { error: 'invalid_request', error_description: 'bad <b>thing</b>' } }, status: 502, code: 'FST_OIDC_PAR_REJECTED', reason: 'par_rejected' },
  { name: '401 invalid_client with a challenge', script: { status: 401, body: { error: 'invalid_client' }, headers: { 'www-authenticate': 'Basic realm="op"' } }, status: 502, code: 'FST_OIDC_PAR_REJECTED', reason: 'par_rejected' },
  { name: '503 HTML', script: { status: 503, body: '<html>down</html>', headers: { 'content-type': 'text/html' } }, status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'par_error' },
  { name: '201 without request_uri', script: { status: 201, body: { expires_in: 60 } }, status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'par_error' },
  { name: 'no answer in time', script: { delayMs: 2000 }, status: 504, code: 'FST_OIDC_IDP_TIMEOUT', reason: 'idp_timeout' },
  { name: 'connection reset', script: { destroy: true }, status: 502, code: 'FST_OIDC_IDP_UNREACHABLE', reason: 'idp_unreachable' }
]
for (const { name, script, status, code, reason } of failures) {
  t.test(`the PAR endpoint: ${name} -> ${status} ${code}`, async (t) => {
    const op = await startHostileOp(t)
    op.onPar = () => script
    const { baseUrl, events, logs } = await buildApp(t, { port: await freePort(), httpTimeout: 500, par: true, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
    const browser = new Browser()
    const res = await browser.get(`${baseUrl}/auth/login?returnTo=/private`)
    t.equal(res.status, status)
    const body = JSON.parse(res.body)
    t.equal(body.code, code)
    t.notMatch(body.message, /<b>/, 'nothing of the IdP\'s description')
    t.same(events.map((e) => [e.type, e.reason]), [['login_failure', reason]])
    t.same(await browser.cookies(baseUrl), {}, 'no login transaction left behind')
    t.equal(op.requests('/authorize').length, 0, 'the browser was not sent to the IdP')
    if (name.includes('invalid_client')) t.ok(logs.some((line) => line.includes('the pushed authorization request endpoint of provider default refused the client credentials (invalid_client)')), 'the setup hint is logged')
    t.notOk(logs.some((line) => line.includes(op.clientSecret!)), 'the secret is not logged')
  })
}

t.test('OIDC_PAR=true with an IdP without pushed_authorization_request_endpoint: register() fails', async (t) => {
  const op = await startHostileOp(t)
  delete op.metadata['pushed_authorization_request_endpoint']
  const err = await registerError(t, { env: { OIDC_PAR: 'true' }, issuer: op.issuer, clientId: op.clientId, clientSecret: 's' })
  t.equal(err?.code, 'FST_OIDC_DISCOVERY_FAILED')
  t.match(err?.message, /OIDC_PAR=true but the metadata has no pushed_authorization_request_endpoint/)
})

t.test('OIDC_PAR=false: the request goes through the browser even when the IdP offers (or requires) PAR', async (t) => {
  const op = await startHostileOp(t)
  op.metadata['require_pushed_authorization_requests'] = true
  const { baseUrl } = await buildApp(t, { port: await freePort(), par: false, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  t.equal((await new Browser().follow(`${baseUrl}/auth/login?returnTo=/private`)).status, 200)
  t.equal(op.requests('/par').length, 0)
  t.type(op.requests('/authorize')[0]?.query['state'], 'string')
})

t.test('OIDC_PAR=true with an IdP down at start-up: 503 at login while its metadata is unknown or lacks a PAR endpoint, then pushed', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 503, body: 'starting' })
  const { baseUrl, events } = await buildApp(t, { port: await freePort(), par: true, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  const login = async (): Promise<Response> => await fetch(`${baseUrl}/auth/login`, { redirect: 'manual' })
  const waitFor = async (done: (res: Response) => Promise<boolean>): Promise<Response> => {
    for (const deadline = Date.now() + 40_000; ; await new Promise((resolve) => setTimeout(resolve, 200))) {
      const res = await login()
      if (await done(res) || Date.now() > deadline) return res
    }
  }
  const down = await login()
  t.equal(down.status, 503)
  t.match(await down.json(), { code: 'FST_OIDC_PROVIDER_UNAVAILABLE' })

  // The IdP answers, but without a PAR endpoint: a configuration problem, still 503 (never a login without PAR).
  delete op.metadata['pushed_authorization_request_endpoint']
  op.onDiscovery = undefined
  const misconfigured = await waitFor(async (res) => res.status === 503 && (await res.clone().json() as { code: string }).code === 'FST_OIDC_PROVIDER_MISCONFIGURED')
  t.equal(misconfigured.status, 503, 'FST_OIDC_PROVIDER_MISCONFIGURED')
  t.equal(op.requests('/par').length, 0)

  op.metadata['pushed_authorization_request_endpoint'] = op.url('/par')
  const up = await waitFor(async (res) => res.status === 302)
  t.equal(up.status, 302)
  t.same([...new URL(up.headers.get('location')!).searchParams.keys()].sort(), ['client_id', 'request_uri'], 'pushed')
  t.ok(events.some((e) => e.type === 'login_failure' && e.reason === 'provider_misconfigured'))
})
