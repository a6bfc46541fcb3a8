// OIDC_DPOP at oidcResourceServer: `required` refuses plain bearer tokens with a
// DPoP challenge, `allowed` keeps them; the setting's errors; DPoP-bound opaque
// tokens (cnf.jkt in the introspection answer); the URL behind a proxy
// (trustProxy); proof ids shared by two instances through one Redis store.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import Fastify from 'fastify'
import { oidcResourceServer, resolveResourceServerConfig } from '../../lib/index.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildIntrospectingServer, buildResourceServer, rawRequest, signAccessToken, startIntrospectionEndpoint } from '../helpers/resource-server.js'
import { dpopKey, proof } from '../helpers/dpop.js'
import { redisStore, uniquePrefix } from '../helpers/redis.js'

const REALM = 'realm="https://api.example.test"'
const ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"'

/** Through node:http (which sends the Host header given; fetch does not); several challenges joined by ', '. */
async function call (url: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number, challenge: string | null, code: unknown }> {
  const res = await rawRequest(url, headers, method)
  const body = JSON.parse(res.body) as Record<string, unknown>
  return { status: res.status, challenge: (res.headers['www-authenticate'] as string | undefined) ?? null, code: body['code'] }
}

t.test('required: only DPoP-bound tokens with a proof', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, env: { OIDC_DPOP: 'required' } })
  const url = `${api.url}/api`
  const key = await dpopKey()
  const bound = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  const ok = await call(url, { authorization: `DPoP ${bound}`, dpop: await proof(key, 'GET', url, bound) })
  t.equal(ok.status, 200)

  const plain = await signAccessToken(op)
  const bearer = await call(url, { authorization: `Bearer ${plain}` })
  t.equal(bearer.status, 401)
  t.equal(bearer.code, 'FST_OIDC_TOKEN_INVALID')
  t.equal(bearer.challenge, `DPoP ${REALM}, error="invalid_token", error_description="The access token was rejected: DPoP is required: send a DPoP-bound token with the DPoP scheme and a proof", ${ALGS}`, 'no Bearer challenge')

  const none = await call(url, {})
  t.equal(none.status, 401)
  t.equal(none.code, 'FST_OIDC_BEARER_MISSING')
  t.equal(none.challenge, `DPoP ${REALM}, ${ALGS}`)

  const stolen = await call(url, { authorization: `DPoP ${bound}`, dpop: await proof(await dpopKey(), 'GET', url, bound) })
  t.equal(stolen.challenge, `DPoP ${REALM}, error="invalid_dpop_proof", error_description="The DPoP proof was rejected: the proof key is not the key the access token is bound to", ${ALGS}`)
})

t.test('allowed (the default, or OIDC_DPOP=allowed): plain bearer tokens as before', async (t) => {
  const op = await startHostileOp(t)
  for (const env of [{}, { OIDC_DPOP: 'allowed' }]) {
    const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, env })
    const res = await call(`${api.url}/api`, { authorization: `Bearer ${await signAccessToken(op)}` })
    t.equal(res.status, 200)
    t.equal((await call(`${api.url}/api`, {})).challenge, `Bearer ${REALM}`)
  }
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, dpop: 'required', env: { OIDC_DPOP: 'allowed' } })
  t.equal((await call(`${api.url}/api`, { authorization: `Bearer ${await signAccessToken(op)}` })).status, 401, 'the option wins over the env')
})

t.test('OIDC_DPOP and replayStore errors name the setting', async (t) => {
  const env = { OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'api' }
  t.throws(() => resolveResourceServerConfig({ env: { ...env, OIDC_DPOP: 'true' } }), { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_DPOP: expected allowed or required .*got "true"/ })
  t.throws(() => resolveResourceServerConfig({ env, dpop: 'yes' as 'allowed' }), { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_DPOP: expected allowed or required/ })
  t.throws(() => resolveResourceServerConfig({ env, replayStore: {} as never }), { code: 'FST_OIDC_CONFIG_INVALID', message: /replayStore: expected an object with a claimOnce\(key, ttlMs\) method/ })
  t.equal(resolveResourceServerConfig({ env: { ...env, OIDC_DPOP: 'required' } }).dpop, 'required')
})

t.test('introspection: cnf.jkt of the answer binds an opaque token', async (t) => {
  const endpoint = await startIntrospectionEndpoint(t)
  const key = await dpopKey()
  const api = await buildIntrospectingServer(t, endpoint)
  const url = `${api.url}/api`
  const token = randomBytes(24).toString('base64url')
  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: API_AUDIENCE, scope: 'api:read', token_type: 'DPoP', cnf: { jkt: key.jkt } } })
  t.equal((await call(url, { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', url, token) })).status, 200)
  const asBearer = await call(url, { authorization: `Bearer ${token}` })
  t.equal(asBearer.status, 401)
  t.equal(asBearer.challenge, `DPoP ${REALM}, error="invalid_token", error_description="The access token was rejected: a DPoP-bound token must be sent with the DPoP scheme and a proof", ${ALGS}, Bearer ${REALM}`)
  const stolen = await call(url, { authorization: `DPoP ${token}`, dpop: await proof(await dpopKey(), 'GET', url, token) })
  t.equal(stolen.code, 'FST_OIDC_DPOP_PROOF_INVALID')

  const unbound = randomBytes(24).toString('base64url')
  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: API_AUDIENCE, token_type: 'DPoP' } })
  t.match(await call(url, { authorization: `Bearer ${unbound}` }), { status: 401, code: 'FST_OIDC_TOKEN_INVALID' }, 'token_type DPoP without cnf.jkt')
  const oddCnf = randomBytes(24).toString('base64url')
  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: API_AUDIENCE, cnf: { jkt: 7 } } })
  t.match(await call(url, { authorization: `DPoP ${oddCnf}`, dpop: await proof(key, 'GET', url, oddCnf) }), { status: 401, code: 'FST_OIDC_TOKEN_INVALID' })
})

t.test('behind a proxy: htu is the URL the client used (trustProxy), not the one the service listens on', async (t) => {
  const op = await startHostileOp(t)
  const key = await dpopKey()
  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  const publicUrl = 'https://api.example.test/api'
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.test' }
  for (const trustProxy of [true, false]) {
    const app = Fastify({ trustProxy })
    t.teardown(() => app.close())
    await app.register(oidcResourceServer, { env: {}, issuer: op.issuer, audience: API_AUDIENCE })
    app.get('/api', { preHandler: app.requireBearer() }, async () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    const local = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api`
    const viaProxy = await call(local, { ...forwarded, authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', publicUrl, token) })
    t.equal(viaProxy.status, trustProxy ? 200 : 401, `trustProxy ${String(trustProxy)}: proof for the public URL`)
    const internal = await call(local, { ...forwarded, authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', local, token) })
    t.equal(internal.status, trustProxy ? 401 : 200, `trustProxy ${String(trustProxy)}: proof for the internal URL`)
  }
})

t.test('a rewritten URL (rewriteUrl): htu is the URL the client sent', async (t) => {
  const op = await startHostileOp(t)
  const app = Fastify({ rewriteUrl: (req) => req.url!.replace(/^\/v1\//, '/') })
  t.teardown(() => app.close())
  await app.register(oidcResourceServer, { env: {}, issuer: op.issuer, audience: API_AUDIENCE })
  app.get('/api', { preHandler: app.requireBearer() }, async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const key = await dpopKey()
  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  t.equal((await call(`${origin}/v1/api`, { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', `${origin}/v1/api`, token) })).status, 200)
  t.equal((await call(`${origin}/v1/api`, { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', `${origin}/api`, token) })).status, 401)
})

t.test('two instances sharing a Redis store: a proof used at one is refused at the other', async (t) => {
  const op = await startHostileOp(t)
  const prefix = uniquePrefix()
  const [a, b] = [await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, replayStore: redisStore(t, prefix) }), await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, replayStore: redisStore(t, prefix) })]
  const key = await dpopKey()
  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  // Both instances behind one name: the proof's htu is the same URL for either.
  const headers = async (): Promise<Record<string, string>> => ({ host: 'api.example.test', authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', 'http://api.example.test/api', token) })
  const once = await headers()
  t.equal((await call(`${a!.url}/api`, once)).status, 200)
  const replay = await call(`${b!.url}/api`, once)
  t.equal(replay.status, 401)
  t.equal(replay.challenge, `DPoP ${REALM}, error="invalid_dpop_proof", error_description="The DPoP proof was rejected: the proof was already used", ${ALGS}, Bearer ${REALM}`)
  t.equal((await call(`${b!.url}/api`, await headers())).status, 200)
})

t.test('a replay store that fails: 503 with Retry-After, never a pass', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, replayStore: { claimOnce: async () => { throw new Error('down') } } })
  const key = await dpopKey()
  const token = await signAccessToken(op, { cnf: { jkt: key.jkt } })
  const url = `${api.url}/api`
  const res = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', url, token) } })
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '10')
  t.match(await res.json(), { code: 'FST_OIDC_VERIFIER_UNAVAILABLE' })
})
