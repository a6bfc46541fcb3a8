// oidcResourceServer against forged JWT access tokens: every token below is
// signed (or not) with jose by the hostile OP or an attacker, sent over real
// HTTP, and must be refused with 401 invalid_token — a valid one passes.
import t, { type Test } from 'tap'
import { CompactSign } from 'jose'
import { generateOpKey, startHostileOp, type HostileOp, type IdTokenSignOptions } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, type ResourceServerApp } from '../helpers/resource-server.js'
import type { JWTPayload } from 'jose'

interface Setup { op: HostileOp, api: ResourceServerApp }

async function setup (t: Test): Promise<Setup> {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, clockTolerance: 5 })
  return { op, api }
}

async function call (api: ResourceServerApp, token: string): Promise<{ status: number, code: string, challenge: string | null, body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/api`, { headers: { authorization: `Bearer ${token}` } })
  const body = await res.json() as Record<string, unknown>
  return { status: res.status, code: String(body['code']), challenge: res.headers.get('www-authenticate'), body }
}

const now = (): number => Math.floor(Date.now() / 1000)

t.test('a valid RS256 and a valid ES256 access token pass', async (t) => {
  const { op, api } = await setup(t)
  const rs = await call(api, await signAccessToken(op))
  t.equal(rs.status, 200)
  t.equal((rs.body['user'] as { sub: string }).sub, 'alice')
  const es = await call(api, await signAccessToken(op, {}, { alg: 'ES256' }))
  t.equal(es.status, 200)
  t.equal(op.requests('/jwks').length, 1, 'the JWKS is fetched once and cached')
})

const forgeries: Array<[string, (op: HostileOp) => Promise<string>, RegExp]> = [
  ['wrong iss', async (op) => await signAccessToken(op, { iss: 'https://evil.example' }), /the iss claim/],
  ['wrong aud', async (op) => await signAccessToken(op, { aud: 'https://other-api.example' }), /the aud claim/],
  ['aud equal to a client id (an ID token audience)', async (op) => await signAccessToken(op, { aud: op.clientId }), /the aud claim/],
  ['expired (beyond the tolerance)', async (op) => await signAccessToken(op, { exp: now() - 60 }), /expired/],
  ['no exp', async (op) => await signAccessToken(op, { exp: undefined }), /the exp claim/],
  ['nbf in the future', async (op) => await signAccessToken(op, { nbf: now() + 120 }), /the nbf claim/],
  ['iat in the future', async (op) => await signAccessToken(op, { iat: now() + 120 }), /issued in the future/],
  ['no sub', async (op) => await signAccessToken(op, { sub: undefined }), /the sub claim/],
  ['an empty sub', async (op) => await signAccessToken(op, { sub: '' }), /no subject/],
  ['at+jwt without client_id', async (op) => await signAccessToken(op, { client_id: undefined }), /the client_id claim/],
  ['at+jwt without jti', async (op) => await signAccessToken(op, { jti: undefined }), /the jti claim/],
  ['no typ', async (op) => await signAccessToken(op, {}, { typ: undefined }), /typ/],
  ['typ JWT', async (op) => await signAccessToken(op, {}, { typ: 'JWT' }), /typ/],
  ['typ of a logout token', async (op) => await signAccessToken(op, {}, { typ: 'logout+jwt' }), /typ/],
  ['at+jwt carrying a nonce (an ID token)', async (op) => await signAccessToken(op, { nonce: 'n' }), /ID token/],
  ['at+jwt carrying at_hash', async (op) => await signAccessToken(op, { at_hash: 'x' }), /ID token/],
  ['alg none', async (op) => await signAccessToken(op, {}, { alg: 'none' }), /algorithm/],
  ['HS256 signed with the public key (alg confusion)', async (op) => await signAccessToken(op, {}, { alg: 'HS256' }), /algorithm/],
  ['a flipped signature', async (op) => op.flipSignature(await signAccessToken(op)), /signature/],
  ['signed by a key the OP does not publish, with a published kid', async (op) => {
    const attacker = await generateOpKey('RS256', op.keys.rsa.kid)
    return await signAccessToken(op, {}, { key: attacker })
  }, /signature/],
  ['an unknown critical header', async (op) => await signAccessToken(op, {}, { header: { crit: ['urn:x'], 'urn:x': 1 } } as IdTokenSignOptions), /not a valid signed JWT/],
  ['a payload that is not JSON', async (op) => await new CompactSign(new TextEncoder().encode('not json'))
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: op.keys.rsa.kid }).sign(op.keys.rsa.privateKey), /not a valid signed JWT/],
  ['a header that is not JSON', async () => `${Buffer.from('nope').toString('base64url')}.e30.c2ln`, /not a valid signed JWT/]
]

t.test('forged and unacceptable tokens: 401 invalid_token', async (t) => {
  const { op, api } = await setup(t)
  const sent: string[] = []
  for (const [name, forge, reason] of forgeries) {
    const token = await forge(op)
    sent.push(token)
    const res = await call(api, token)
    t.equal(res.status, 401, name)
    t.equal(res.code, 'FST_OIDC_TOKEN_INVALID', name)
    t.match(res.challenge, /^Bearer realm="https:\/\/api\.example\.test", error="invalid_token", error_description="[^"]+"$/, name)
    t.match(res.challenge, reason, name)
    t.match(res.body['message'], reason, `${name}: the message says why`)
    t.notOk(res.challenge!.includes(token.split('.')[1]!), `${name}: no token text in the header`)
    t.notOk(JSON.stringify(res.body).includes(token.split('.')[1]!), `${name}: no token text in the body`)
  }
  t.notOk(api.logs.some((line) => sent.some((token) => line.includes(token.split('.')[1]!))), 'no token is logged')
})

t.test('algorithms: only the configured ones', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, algorithms: ['ES256'] })
  const rs = await call(api, await signAccessToken(op))
  t.equal(rs.status, 401, 'RS256 is not in the list')
  t.match(rs.challenge, /algorithm/)
  t.equal((await call(api, await signAccessToken(op, {}, { alg: 'ES256' }))).status, 200)
})

t.test('application/at+jwt is the same typ, in any case', async (t) => {
  const { op, api } = await setup(t)
  t.equal((await call(api, await signAccessToken(op, {}, { typ: 'application/AT+JWT' }))).status, 200)
})

t.test('a token within the clock tolerance passes', async (t) => {
  const { op, api } = await setup(t)
  const claims: JWTPayload = { exp: now() - 2, nbf: now() + 2, iat: now() + 2 }
  t.equal((await call(api, await signAccessToken(op, claims))).status, 200, 'exp, nbf, iat within 5 s')
})
