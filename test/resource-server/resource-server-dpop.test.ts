// DPoP-bound access tokens (RFC 9449) at oidcResourceServer, default mode
// (allowed): each check of section 4.3 refused over real HTTP with the exact
// challenges (a DPoP one with the error and the algs, then the plain Bearer one),
// tokens signed by the hostile OP carrying cnf.jkt, proofs signed with jose.
import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import { generateSecret } from 'jose'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, type ResourceServerApp } from '../helpers/resource-server.js'
import { dpopKey, proof, unsignedProof, type DpopKey } from '../helpers/dpop.js'

const REALM = 'realm="https://api.example.test"'
const ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"'
const BEARER = `Bearer ${REALM}`
const proofRefused = (why: string): string[] => [`DPoP ${REALM}, error="invalid_dpop_proof", error_description="The DPoP proof was rejected: ${why}", ${ALGS}`, BEARER]

interface Answer { status: number, challenges: string[], body: Record<string, unknown> }

/** One request; every WWW-Authenticate field as sent (node:http would join them). */
async function send (url: string, headers: Record<string, string | string[]>, method = 'GET'): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        const challenges = res.rawHeaders.filter((_, i, raw) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'www-authenticate')
        resolve({ status: res.statusCode!, challenges, body: JSON.parse(text) as Record<string, unknown> })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

interface Setup { op: HostileOp, api: ResourceServerApp, key: DpopKey, token: string, url: string }

async function setup (t: Test): Promise<Setup> {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, {
    issuer: op.issuer,
    audience: API_AUDIENCE,
    routes: (app) => {
      app.get('/api', { preHandler: app.requireBearer() }, async (request) => ({ sub: request.oidc.user?.sub, cnf: request.oidc.user?.['cnf'] }))
      app.post('/api', { preHandler: app.requireBearer() }, async (request) => ({ sub: request.oidc.user?.sub }))
      app.get('/other', { preHandler: app.requireBearer() }, async () => ({ other: true }))
      app.get('/admin', { preHandler: app.requireBearer({ scopes: ['api:admin'] }) }, async () => ({ admin: true }))
    }
  })
  const key = await dpopKey()
  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  return { op, api, key, token, url: `${api.url}/api` }
}

const dpop = (token: string, dpopProof: string): Record<string, string> => ({ authorization: `DPoP ${token}`, dpop: dpopProof })

t.test('a DPoP-bound token with a valid proof: 200, each proof once', async (t) => {
  const { api, key, token, url } = await setup(t)
  const first = await send(url, dpop(token, await proof(key, 'GET', url, token)))
  t.equal(first.status, 200)
  t.same(first.body, { sub: 'alice', cnf: { jkt: key.jkt } })
  t.same(first.challenges, [])
  // The same token again (the verified-token cache), with a fresh proof; htu ignores the query.
  const again = await send(`${url}?page=2`, { authorization: `dpop  ${token}`, dpop: await proof(key, 'GET', url, token) })
  t.equal(again.status, 200, 'scheme case-insensitive, query not part of htu')
  const post = await send(url, dpop(token, await proof(key, 'POST', url, token)), 'POST')
  t.equal(post.status, 200)
  t.notOk(api.logs.join('\n').includes(token), 'the token is never logged')
})

t.test('a stolen DPoP-bound token: refused as Bearer, without a proof, and with the thief\'s key', async (t) => {
  const { key, token, url } = await setup(t)
  const asBearer = await send(url, { authorization: `Bearer ${token}` })
  t.equal(asBearer.status, 401)
  t.same(asBearer.challenges, [
    `DPoP ${REALM}, error="invalid_token", error_description="The access token was rejected: a DPoP-bound token must be sent with the DPoP scheme and a proof", ${ALGS}`,
    BEARER
  ])
  t.equal(asBearer.body['code'], 'FST_OIDC_TOKEN_INVALID')

  const noProof = await send(url, { authorization: `DPoP ${token}` })
  t.equal(noProof.status, 401)
  t.same(noProof.challenges, proofRefused('no DPoP header'))
  t.equal(noProof.body['code'], 'FST_OIDC_DPOP_PROOF_INVALID')

  const thief = await dpopKey()
  const thiefs = await send(url, dpop(token, await proof(thief, 'GET', url, token)))
  t.equal(thiefs.status, 401)
  t.same(thiefs.challenges, proofRefused('the proof key is not the key the access token is bound to'))

  // The thief's key in the header, the proof signed by another: the signature does not verify.
  const mixed = await send(url, dpop(token, await proof(key, 'GET', url, token, { signingKey: thief.privateKey })))
  t.same(mixed.challenges, proofRefused('the signature does not verify with the embedded key'))
  t.equal((await send(url, dpop(token, await proof(key, 'GET', url, token)))).status, 200, 'the owner still gets through')
})

t.test('a replayed proof (same jti) is refused', async (t) => {
  const { key, token, url } = await setup(t)
  const once = await proof(key, 'GET', url, token)
  t.equal((await send(url, dpop(token, once))).status, 200)
  const replay = await send(url, dpop(token, once))
  t.equal(replay.status, 401)
  t.same(replay.challenges, proofRefused('the proof was already used'))
  const sameJti = await send(url, dpop(token, await proof(key, 'GET', url, token, { claims: { jti: JSON.parse(Buffer.from(once.split('.')[1]!, 'base64url').toString()).jti } })))
  t.same(sameJti.challenges, proofRefused('the proof was already used'), 'a new proof with a used jti')
})

t.test('a proof for another request: URL, method, scheme or port', async (t) => {
  const { api, key, token, url } = await setup(t)
  const port = new URL(api.url).port
  const cases: Array<[string, string, string]> = [
    ['another path', 'GET', `${api.url}/other`],
    ['another method', 'POST', url],
    ['another scheme', 'GET', `https://127.0.0.1:${port}/api`],
    ['another host', 'GET', `http://localhost:${port}/api`],
    ['not a URL', 'GET', 'api'],
    ['not an http(s) URL', 'GET', `ftp://127.0.0.1:${port}/api`]
  ]
  for (const [name, htm, htu] of cases) {
    const res = await send(url, dpop(token, await proof(key, htm, htu, token)))
    t.equal(res.status, 401, name)
    t.same(res.challenges, proofRefused(htm === 'GET' ? 'the htu claim is not the request URL' : 'the htm claim is not the request method'), name)
  }
  const other = await send(`${api.url}/other`, dpop(token, await proof(key, 'GET', url, token)))
  t.same(other.challenges, proofRefused('the htu claim is not the request URL'), 'a proof for /api sent to /other')
  const fragment = await send(url, dpop(token, await proof(key, 'GET', `${url}?x=1#top`, token)))
  t.equal(fragment.status, 200, 'query and fragment of htu ignored')
})

t.test('ath, iat, jti and the other claims', async (t) => {
  const { op, key, token, url } = await setup(t)
  const otherToken = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  const cases: Array<[string, Parameters<typeof proof>[4], string]> = [
    ['ath of another token', { claims: { ath: (await import('../helpers/dpop.js')).ath(otherToken) } }, 'the ath claim is not the access token\'s hash'],
    ['no ath', { claims: { ath: undefined } }, 'the ath claim is not the access token\'s hash'],
    ['iat 10 minutes old', { iatOffset: -600 }, 'the iat claim is not within 60 s of now'],
    ['iat 10 minutes ahead', { iatOffset: 600 }, 'the iat claim is not within 60 s of now'],
    ['an exp long past', { claims: { exp: Math.floor(Date.now() / 1000) - 120 } }, 'the proof has expired'],
    ['no jti', { claims: { jti: undefined } }, 'the jti claim is missing'],
    ['no htu', { claims: { htu: undefined } }, 'the htu claim is missing'],
    ['a jti that is no string', { claims: { jti: 42 as unknown as string } }, 'the jti claim is not acceptable'],
    ['an overlong jti', { claims: { jti: 'x'.repeat(300) } }, 'the jti claim is not acceptable']
  ]
  for (const [name, options, why] of cases) {
    const res = await send(url, dpop(token, await proof(key, 'GET', url, token, options)))
    t.equal(res.status, 401, name)
    t.same(res.challenges, proofRefused(why), name)
  }
  // Within the window (and the default 60 s clock tolerance) a proof is accepted.
  t.equal((await send(url, dpop(token, await proof(key, 'GET', url, token, { iatOffset: -90 })))).status, 200)
})

t.test('proof headers: typ, symmetric and none algs, a private key, no key', async (t) => {
  const { key, token, url } = await setup(t)
  const secret = await generateSecret('HS256')
  const cases: Array<[string, string, string]> = [
    ['typ JWT', await proof(key, 'GET', url, token, { header: { typ: 'JWT' } }), 'the typ header is not dpop+jwt'],
    ['HS256', await proof(key, 'GET', url, token, { header: { alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } }, signingKey: secret }), 'the algorithm is not one of ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519'],
    ['alg none with a signature', unsignedProof(key, 'GET', url, token, 'AAAA'), 'the algorithm is not one of ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519'],
    ['alg none, no signature', unsignedProof(key, 'GET', url, token), 'the DPoP header is not a compact JWS'],
    ['a private key in the header', await proof(key, 'GET', url, token, { header: { jwk: key.privateJwk } }), 'not a valid signed DPoP proof with an embedded public key'],
    ['no jwk', await proof(key, 'GET', url, token, { header: { jwk: undefined } }), 'not a valid signed DPoP proof with an embedded public key'],
    ['not a JWS', 'garbage', 'the DPoP header is not a compact JWS']
  ]
  for (const [name, dpopProof, why] of cases) {
    const res = await send(url, dpop(token, dpopProof))
    t.equal(res.status, 401, name)
    t.same(res.challenges, proofRefused(why), name)
    t.equal(res.body['code'], 'FST_OIDC_DPOP_PROOF_INVALID', name)
  }
  const twice = await send(url, { authorization: `DPoP ${token}`, dpop: [await proof(key, 'GET', url, token), await proof(key, 'GET', url, token)] })
  t.same(twice.challenges, proofRefused('more than one DPoP header'))
})

t.test('the token must match the scheme; other refusals of a DPoP request carry DPoP challenges', async (t) => {
  const { op, api, key, url } = await setup(t)
  const plain = await signAccessToken(op)
  const unbound = await send(url, dpop(plain, await proof(key, 'GET', url, plain)))
  t.equal(unbound.status, 401)
  t.same(unbound.challenges, [`DPoP ${REALM}, error="invalid_token", error_description="The access token was rejected: the token is not DPoP-bound: send it with the Bearer scheme", ${ALGS}`, BEARER])
  t.equal((await send(url, { authorization: `Bearer ${plain}` })).status, 200, 'plain bearer tokens work as before (allowed)')

  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  const admin = `${api.url}/admin`
  const scope = await send(admin, dpop(token, await proof(key, 'GET', admin, token)))
  t.equal(scope.status, 403)
  t.same(scope.challenges, [`DPoP ${REALM}, error="insufficient_scope", error_description="The access token lacks a required scope", scope="api:admin", ${ALGS}`, BEARER])

  const forged = op.flipSignature(token)
  const bad = await send(url, dpop(forged, await proof(key, 'GET', url, forged)))
  t.same(bad.challenges, [`DPoP ${REALM}, error="invalid_token", error_description="The access token was rejected: the signature does not verify with the issuer keys", ${ALGS}`, BEARER])

  for (const cnf of [{ jkt: '' }, 'jkt', { jkt: 42 }]) {
    const odd = await signAccessToken(op, { cnf })
    const res = await send(url, dpop(odd, await proof(key, 'GET', url, odd)))
    t.match(res.body, { code: 'FST_OIDC_TOKEN_INVALID', message: /the cnf claim is not acceptable/ }, JSON.stringify(cnf))
  }
  const otherCnf = await signAccessToken(op, { cnf: { 'x5t#S256': 'abc' } })
  t.equal((await send(url, { authorization: `Bearer ${otherCnf}` })).status, 200, 'a cnf without jkt binds no DPoP key')

  const malformed = await send(url, { authorization: 'DPoP a b' })
  t.equal(malformed.status, 400)
  t.equal(malformed.body['code'], 'FST_OIDC_BEARER_REQUEST_INVALID')
  t.same(malformed.challenges, [`DPoP ${REALM}, error="invalid_request", error_description="The request is malformed: malformed DPoP credentials", ${ALGS}`, BEARER])
  t.same((await send(url, {})).challenges, [BEARER], 'no token: the challenge of before (allowed)')
})
