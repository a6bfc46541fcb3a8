// Proves the hostile OP helper itself works: real HTTP, real signatures, no library involved.
import t from 'tap'
import { UnsecuredJWT, createRemoteJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose'
import { generateOpKey, randomToken, s256, startHostileOp } from './helpers/hostile-op.js'
import type { HostileOp } from './helpers/hostile-op.js'

const REDIRECT_URI = 'http://127.0.0.1:1/callback'

interface Authorized {
  code: string
  location: URL
  verifier: string
  state: string
  nonce: string
}

async function authorize (op: HostileOp, extra: Record<string, string> = {}): Promise<Authorized> {
  const verifier = randomToken()
  const state = randomToken(16)
  const nonce = randomToken(16)
  const url = new URL(op.url('/authorize'))
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: op.clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
    ...extra
  }).toString()
  const res = await fetch(url, { redirect: 'manual' })
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`)
  const location = new URL(res.headers.get('location') ?? '')
  return { code: location.searchParams.get('code') ?? '', location, verifier, state, nonce }
}

function basic (id: string, secret: string): string {
  const enc = (s: string): string => new URLSearchParams({ s }).toString().slice(2)
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`
}

async function token (op: HostileOp, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(op.url('/token'), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(op.clientId, op.clientSecret ?? ''),
      ...headers
    },
    body: new URLSearchParams(params)
  })
}

async function exchange (op: HostileOp, a: Authorized, verifier = a.verifier): Promise<Response> {
  return token(op, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT_URI, code_verifier: verifier })
}

interface TokenBody {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  id_token: string
  scope: string
}

t.test('discovery serves the mutable metadata', async (t) => {
  const op = await startHostileOp(t)
  t.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
  const url = op.url('/.well-known/openid-configuration')
  let doc = await (await fetch(url)).json() as Record<string, unknown>
  t.same(doc, {
    issuer: op.issuer,
    authorization_endpoint: `${op.issuer}/authorize`,
    token_endpoint: `${op.issuer}/token`,
    jwks_uri: `${op.issuer}/jwks`,
    userinfo_endpoint: `${op.issuer}/userinfo`,
    end_session_endpoint: `${op.issuer}/logout`,
    revocation_endpoint: `${op.issuer}/revoke`,
    pushed_authorization_request_endpoint: `${op.issuer}/par`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    authorization_response_iss_parameter_supported: true
  })

  op.metadata.issuer = 'https://evil.example'
  delete op.metadata.userinfo_endpoint
  doc = await (await fetch(url)).json() as Record<string, unknown>
  t.equal(doc.issuer, 'https://evil.example')
  t.notOk('userinfo_endpoint' in doc)
  t.equal(op.issuer.startsWith('http://127.0.0.1:'), true, 'issuer itself is unchanged')

  op.metadata = { issuer: op.issuer, surprise: 1 }
  doc = await (await fetch(url)).json() as Record<string, unknown>
  t.same(doc, { issuer: op.issuer, surprise: 1 })
})

t.test('code flow with PKCE: valid RS256 ID token, at_hash, refresh, userinfo', async (t) => {
  const op = await startHostileOp(t)
  const a = await authorize(op)
  t.ok(a.code, 'code in the redirect')
  t.equal(a.location.origin + a.location.pathname, REDIRECT_URI)
  t.equal(a.location.searchParams.get('state'), a.state)
  t.equal(a.location.searchParams.get('iss'), op.issuer, 'RFC 9207 iss')
  t.same(op.authorizations.get(a.code), {
    code: a.code,
    state: a.state,
    nonce: a.nonce,
    redirect_uri: REDIRECT_URI,
    code_challenge: s256(a.verifier),
    code_challenge_method: 'S256',
    client_id: op.clientId,
    scope: 'openid email profile'
  })

  const res = await exchange(op, a)
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const body = await res.json() as TokenBody
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 300)
  t.equal(body.scope, 'openid email profile')
  t.type(body.refresh_token, 'string')

  const jwks = createRemoteJWKSet(new URL(op.url('/jwks')))
  const { payload, protectedHeader } = await jwtVerify(body.id_token, jwks, { issuer: op.issuer, audience: op.clientId })
  t.equal(protectedHeader.alg, 'RS256')
  t.equal(protectedHeader.kid, op.keys.rsa.kid)
  t.equal(payload.iss, op.issuer)
  t.equal(payload.aud, op.clientId)
  t.equal(payload.sub, 'alice')
  t.equal(payload.nonce, a.nonce)
  t.equal(payload.at_hash, op.atHash(body.access_token))
  t.equal(payload.email, 'alice@example.com')
  t.equal(payload.name, 'Alice Liddell')
  t.same(payload.roles, ['user'])
  t.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300)

  const tokenReq = op.requests('/token')[0]
  t.equal(tokenReq?.method, 'POST')
  t.equal(tokenReq?.body.code, a.code)
  t.equal(tokenReq?.headers.authorization, basic(op.clientId, 'test-secret'))

  // reuse of the code
  const reuse = await exchange(op, a)
  t.equal(reuse.status, 400)
  t.match(await reuse.json(), { error: 'invalid_grant', error_description: 'code already used' })

  // userinfo
  let ui = await fetch(op.url('/userinfo'), { headers: { authorization: `Bearer ${body.access_token}` } })
  t.equal(ui.status, 200)
  t.same(await ui.json(), { sub: 'alice', email: 'alice@example.com', name: 'Alice Liddell', roles: ['user'] })
  ui = await fetch(op.url('/userinfo'), { headers: { authorization: 'Bearer nope' } })
  t.equal(ui.status, 401)
  t.match(ui.headers.get('www-authenticate'), /invalid_token/)

  // refresh
  const refreshed = await token(op, { grant_type: 'refresh_token', refresh_token: body.refresh_token })
  t.equal(refreshed.status, 200)
  const rbody = await refreshed.json() as TokenBody
  t.not(rbody.access_token, body.access_token)
  const { payload: rp } = await jwtVerify(rbody.id_token, jwks, { issuer: op.issuer, audience: op.clientId })
  t.equal(rp.sub, 'alice')
  t.equal(rp.nonce, undefined, 'no nonce in a refreshed ID token')
  t.equal(rp.at_hash, op.atHash(rbody.access_token))
  const unknown = await token(op, { grant_type: 'refresh_token', refresh_token: 'never-issued' })
  t.equal(unknown.status, 400)
  t.match(await unknown.json(), { error: 'invalid_grant' })

  // revocation kills the refresh token
  const rev = await fetch(op.url('/revoke'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: rbody.refresh_token })
  })
  t.equal(rev.status, 200)
  const afterRevoke = await token(op, { grant_type: 'refresh_token', refresh_token: rbody.refresh_token })
  t.equal(afterRevoke.status, 400)
})

t.test('token endpoint rejects bad PKCE, redirect_uri and client auth', async (t) => {
  const op = await startHostileOp(t)

  const wrongVerifier = await exchange(op, await authorize(op), randomToken())
  t.equal(wrongVerifier.status, 400)
  t.match(await wrongVerifier.json(), { error: 'invalid_grant', error_description: 'PKCE verification failed' })

  const a = await authorize(op)
  const noVerifier = await token(op, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT_URI })
  t.equal(noVerifier.status, 400)
  t.match(await noVerifier.json(), { error: 'invalid_grant' })
  const burnt = await exchange(op, a)
  t.equal(burnt.status, 400, 'a code is burnt by a failed attempt too')

  const b = await authorize(op)
  const wrongRedirect = await token(op, { grant_type: 'authorization_code', code: b.code, redirect_uri: 'http://127.0.0.1:1/other', code_verifier: b.verifier })
  t.equal(wrongRedirect.status, 400)
  t.match(await wrongRedirect.json(), { error: 'invalid_grant', error_description: 'redirect_uri mismatch' })

  const c = await authorize(op, { code_challenge: a.verifier, code_challenge_method: 'plain' })
  t.equal(c.location.searchParams.get('error'), 'invalid_request', 'plain challenge method refused')

  const d = await authorize(op)
  const wrongSecret = await token(op, { grant_type: 'authorization_code', code: d.code, redirect_uri: REDIRECT_URI, code_verifier: d.verifier }, {
    authorization: basic(op.clientId, 'wrong')
  })
  t.equal(wrongSecret.status, 401)
  t.match(wrongSecret.headers.get('www-authenticate'), /^Basic/)
  t.match(await wrongSecret.json(), { error: 'invalid_client' })

  const e = await authorize(op)
  const post = await fetch(op.url('/token'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: e.code, redirect_uri: REDIRECT_URI, code_verifier: e.verifier, client_id: op.clientId, client_secret: 'test-secret' })
  })
  t.equal(post.status, 200, 'client_secret_post accepted')

  const f = await authorize(op)
  const both = await token(op, { grant_type: 'authorization_code', code: f.code, redirect_uri: REDIRECT_URI, code_verifier: f.verifier, client_secret: 'test-secret' })
  t.equal(both.status, 400)
  t.match(await both.json(), { error: 'invalid_request' })

  const json = await fetch(op.url('/token'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(op.clientId, 'test-secret') },
    body: JSON.stringify({ grant_type: 'authorization_code' })
  })
  t.equal(json.status, 400)
  t.match(await json.json(), { error: 'invalid_request' })
})

t.test('Basic credentials are form-url-decoded (RFC 6749 2.3.1); public clients', async (t) => {
  const secret = 'p@ss:w+rd %/é'
  const op = await startHostileOp(t, { clientId: 'my client', clientSecret: secret })
  const a = await authorize(op)
  const ok = await exchange(op, a)
  t.equal(ok.status, 200, 'encoded credentials accepted')

  const b = await authorize(op)
  const raw = await token(op, { grant_type: 'authorization_code', code: b.code, redirect_uri: REDIRECT_URI, code_verifier: b.verifier }, {
    authorization: `Basic ${Buffer.from(`my client:${secret}`).toString('base64')}`
  })
  t.equal(raw.status, 401, 'raw (non form-encoded) credentials refused')

  const pub = await startHostileOp(t, { clientSecret: null })
  const c = await authorize(pub)
  const none = await fetch(pub.url('/token'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: c.code, redirect_uri: REDIRECT_URI, code_verifier: c.verifier, client_id: pub.clientId })
  })
  t.equal(none.status, 200, 'public client with auth method none')
})

t.test('attack tokens', async (t) => {
  const op = await startHostileOp(t)
  const jwks = createRemoteJWKSet(new URL(op.url('/jwks')))
  const claims = op.defaultIdTokenClaims({ nonce: 'n' })

  const none = await op.signIdToken(claims, { alg: 'none' })
  t.equal(decodeProtectedHeader(none).alg, 'none')
  t.ok(none.endsWith('.'), 'empty signature')
  t.equal(UnsecuredJWT.decode(none).payload.nonce, 'n')
  await t.rejects(jwtVerify(none, jwks))
  const noneKid = await op.signIdToken(claims, { alg: 'none', kid: op.keys.rsa.kid, typ: 'JWT' })
  t.same(decodeProtectedHeader(noneKid), { kid: op.keys.rsa.kid, typ: 'JWT', alg: 'none' })
  t.equal(UnsecuredJWT.decode(noneKid).payload.sub, 'alice')

  const good = await op.signIdToken(claims)
  await jwtVerify(good, jwks, { issuer: op.issuer, audience: op.clientId })
  const flipped = op.flipSignature(good)
  t.not(flipped, good)
  t.equal(flipped.split('.').slice(0, 2).join('.'), good.split('.').slice(0, 2).join('.'))
  await t.rejects(jwtVerify(flipped, jwks), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
  t.throws(() => op.flipSignature(none))

  const hs = await op.signIdToken(claims, { alg: 'HS256', key: 'public-pem' })
  t.same(decodeProtectedHeader(hs), { kid: op.keys.rsa.kid, alg: 'HS256' })
  t.match(op.publicPem, /^-----BEGIN PUBLIC KEY-----/)
  const { payload } = await jwtVerify(hs, new TextEncoder().encode(op.publicPem))
  t.equal(payload.nonce, 'n', 'HS256 keyed with the RSA public PEM verifies with those bytes')
  await t.rejects(jwtVerify(hs, jwks), 'but not against the JWKS')
  const hsSecret = await op.signIdToken(claims, { alg: 'HS256', key: 'test-secret' })
  t.equal(decodeProtectedHeader(hsSecret).kid, undefined)
  await jwtVerify(hsSecret, new TextEncoder().encode('test-secret'))

  const es = await op.signIdToken(claims, { alg: 'ES256' })
  const esVerified = await jwtVerify(es, jwks)
  t.equal(esVerified.protectedHeader.kid, op.keys.ec.kid)

  const stranger = await generateOpKey('RS256', op.keys.rsa.kid)
  const forged = await op.signIdToken(claims, { key: stranger })
  t.equal(decodeProtectedHeader(forged).kid, op.keys.rsa.kid, 'unknown key claiming the published kid')
  await t.rejects(jwtVerify(forged, jwks))
  const raw = await generateKeyPair('RS256')
  const noKid = await op.signIdToken(claims, { key: raw.privateKey, header: { jku: 'https://evil.example/jwks' } })
  t.same(decodeProtectedHeader(noKid), { jku: 'https://evil.example/jwks', alg: 'RS256' })
  const omitted = await op.signIdToken(claims, { kid: null, typ: 'at+jwt' })
  t.same(decodeProtectedHeader(omitted), { typ: 'at+jwt', alg: 'RS256' })
  const crit = await op.signIdToken(claims, { header: { crit: ['exp'], exp: 1 } })
  t.same(decodeProtectedHeader(crit).crit, ['exp'])

  t.equal(op.atHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y'), '77QmUPtjPfzWtF2AnpK9RQ', 'OIDC Core A.3 example')
  t.equal(op.atHash('abc', 'ES384').length, 32)
  t.throws(() => op.atHash('abc', 'XX1'))
})

t.test('rotateKeys changes the served kid', async (t) => {
  const op = await startHostileOp(t)
  const kids = async (): Promise<string[]> => {
    const body = await (await fetch(op.url('/jwks'))).json() as { keys: Array<{ kid: string }> }
    return body.keys.map((k) => k.kid)
  }
  const old = op.keys.rsa
  t.same(await kids(), [old.kid, op.keys.ec.kid])
  const oldToken = await op.signIdToken(op.defaultIdTokenClaims())

  const fresh = await op.rotateKeys()
  t.not(fresh.kid, old.kid)
  t.equal(op.keys.rsa, fresh)
  t.equal(op.publicJwk.kid, fresh.kid)
  t.equal(op.keys.retired[0], old)
  t.same(await kids(), [fresh.kid, op.keys.ec.kid], 'only the new key set is served')
  await t.rejects(jwtVerify(oldToken, createRemoteJWKSet(new URL(op.url('/jwks')))), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  await jwtVerify(await op.signIdToken(op.defaultIdTokenClaims()), createRemoteJWKSet(new URL(op.url('/jwks'))))

  const newer = await op.rotateKeys({ keepOld: true })
  t.same(await kids(), [newer.kid, op.keys.ec.kid, fresh.kid, op.keys.retired[1]?.kid])
  const withOld = await op.signIdToken(op.defaultIdTokenClaims(), { key: fresh })
  await jwtVerify(withOld, createRemoteJWKSet(new URL(op.url('/jwks'))))
})

t.test('token script: delay, destroy, custom body', async (t) => {
  const op = await startHostileOp(t)

  op.onToken = () => ({ delayMs: 300 })
  let a = await authorize(op)
  let start = Date.now()
  const slow = await exchange(op, a)
  t.ok(Date.now() - start >= 280, `answered after ${Date.now() - start}ms`)
  t.equal(slow.status, 200, 'default answer, late')

  op.onToken = () => ({ destroy: true })
  a = await authorize(op)
  await t.rejects(exchange(op, a), TypeError, 'connection destroyed without an answer')

  op.onToken = async (ctx) => ({
    body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), iss: 'https://evil.example' }) }
  })
  a = await authorize(op)
  const evil = await (await exchange(op, a)).json() as TokenBody
  const { payload } = await jwtVerify(evil.id_token, createRemoteJWKSet(new URL(op.url('/jwks'))))
  t.equal(payload.iss, 'https://evil.example')
  t.equal(payload.nonce, a.nonce)

  let seen: string | undefined
  op.onToken = (ctx) => {
    seen = ctx.error?.body.error
    return { status: 502, body: 'Bad Gateway' }
  }
  const raw = await token(op, { grant_type: 'authorization_code', code: 'bogus', redirect_uri: REDIRECT_URI })
  t.equal(raw.status, 502)
  t.equal(raw.headers.get('content-type'), 'text/plain; charset=utf-8')
  t.equal(await raw.text(), 'Bad Gateway')
  t.equal(seen, 'invalid_grant', 'the script sees the default error')

  // close() does not hang on a request held by a long delay
  op.onToken = () => ({ delayMs: 60_000 })
  a = await authorize(op)
  const pending = exchange(op, a)
  await new Promise((resolve) => setTimeout(resolve, 100))
  start = Date.now()
  await op.close()
  t.ok(Date.now() - start < 1000, 'close is prompt')
  await t.rejects(pending)
  await op.close()
})

t.test('onAuthorize overrides the redirect parameters', async (t) => {
  const op = await startHostileOp(t)
  op.onAuthorize = (params, defaults) => {
    t.equal(params.get('client_id'), op.clientId)
    t.ok(defaults.code)
    return { code: defaults.code ?? '', iss: 'https://evil.example' }
  }
  let a = await authorize(op)
  t.equal(a.location.searchParams.get('state'), null, 'state dropped')
  t.equal(a.location.searchParams.get('iss'), 'https://evil.example')
  t.ok(op.authorizations.has(a.code), 'the code is still redeemable')

  op.onAuthorize = (_params, defaults) => ({ error: 'access_denied', error_description: '<b>html</b>', state: defaults.state ?? '' })
  a = await authorize(op)
  t.equal(a.location.searchParams.get('error'), 'access_denied')
  t.equal(a.location.searchParams.get('error_description'), '<b>html</b>')
  t.equal(a.code, '')

  const noIss = await startHostileOp(t, { issResponseParameter: false })
  t.equal(noIss.metadata.authorization_response_iss_parameter_supported, false)
  const b = await authorize(noIss)
  t.equal(b.location.searchParams.get('iss'), null, 'no iss when not advertised')
  t.ok(b.code)

  const bad = await fetch(op.url('/authorize?client_id=someone&redirect_uri=http://x/cb&response_type=code&scope=openid'), { redirect: 'manual' })
  t.equal(bad.status, 400, 'unknown client is not redirected')
})

t.test('request log, revoke, logout, userinfo script', async (t) => {
  const op = await startHostileOp(t)
  await fetch(op.url('/logout?id_token_hint=x&post_logout_redirect_uri=http://app/'))
  const rev = await fetch(op.url('/revoke'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'token=abc&token_type_hint=refresh_token'
  })
  t.equal(rev.status, 200)
  op.onUserinfo = (ctx) => ({ status: 200, body: { ...ctx.defaultClaims(), sub: 'mallory', valid: ctx.valid } })
  const ui = await (await fetch(op.url('/userinfo'), { headers: { authorization: 'Bearer whatever' } })).json()
  t.same(ui, { sub: 'mallory', email: 'alice@example.com', name: 'Alice Liddell', roles: ['user'], valid: false })
  const nf = await fetch(op.url('/nowhere'))
  t.equal(nf.status, 404)

  t.same(op.log.map((r) => `${r.method} ${r.path}`), ['GET /logout', 'POST /revoke', 'GET /userinfo', 'GET /nowhere'])
  t.same(op.requests('/logout')[0]?.query, { id_token_hint: 'x', post_logout_redirect_uri: 'http://app/' })
  t.same(op.requests('/revoke', 'post')[0]?.body, { token: 'abc', token_type_hint: 'refresh_token' })
  t.same(op.requests('/revoke', 'GET'), [])
  t.equal(op.requests('/userinfo')[0]?.headers.authorization, 'Bearer whatever')
  t.same(op.errors, [])
})

t.test('stop() makes the issuer unreachable', async (t) => {
  const op = await startHostileOp(t)
  const issuer = op.issuer
  t.equal((await fetch(op.url('/jwks'))).status, 200)
  await op.stop()
  t.equal(op.issuer, issuer)
  await t.rejects(fetch(op.url('/jwks')), { cause: { code: 'ECONNREFUSED' } })
})
