// The JWKS endpoint fails while an ID token is being verified: the IdP is unusable
// (502) or too slow (504), never a 500 and never a session.
import t from 'tap'
import { expectRejected, hitCallback, opCalls, reachCallback, startAttack } from '../helpers/attack.js'
import type { ResponseScript } from '../helpers/hostile-op.js'

const cases: Array<{ name: string, script: ResponseScript, status: number, code: string, reason: string }> = [
  { name: 'HTTP 500', script: { status: 500, body: { error: 'server_error' } }, status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'jwks_error' },
  { name: 'a body that is not JSON', script: { body: '<html>keys</html>' }, status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'jwks_error' },
  { name: 'JSON that is not a JWK set', script: { body: { keys: 'none' } }, status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'jwks_error' },
  { name: 'a reset connection', script: { destroy: true }, status: 502, code: 'FST_OIDC_IDP_UNREACHABLE', reason: 'idp_unreachable' },
  { name: 'an answer slower than httpTimeout', script: { delayMs: 5000 }, status: 504, code: 'FST_OIDC_IDP_TIMEOUT', reason: 'idp_timeout' },
  { name: 'an empty key set', script: { body: { keys: [] } }, status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_signature' }
]

for (const c of cases) {
  t.test(`JWKS answers ${c.name} -> ${c.status} ${c.code}`, async (t) => {
    const attack = await startAttack(t, { app: { httpTimeout: 300 } })
    attack.op.onJwks = () => c.script
    const res = await hitCallback(attack, await reachCallback(attack))
    await expectRejected(t, attack, res, { status: c.status, code: c.code, reason: c.reason })
    t.ok(res.elapsed < 2000, `answered after ${res.elapsed} ms`)
    t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'one JWKS request, nothing after it')
  })
}
