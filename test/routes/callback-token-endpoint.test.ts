// The code exchange against a token endpoint that fails, refuses, hangs, is gone or
// answers garbage: 401 for invalid_grant, 502 for an unusable or unreachable IdP,
// 504 on time-out — never 500, never a session, and the ID token is never checked.
import t from 'tap'
import { expectRejected, hitCallback, opCalls, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'
import type { Test } from 'tap'
import type { TokenScript, TokenContext } from '../helpers/hostile-op.js'

/** A login whose code exchange gets the scripted answer. */
async function exchangeWith (t: Test, script: (ctx: TokenContext) => TokenScript | Promise<TokenScript>, httpTimeout?: number): Promise<{ attack: Attack, res: CallbackAnswer }> {
  const attack = await startAttack(t, httpTimeout === undefined ? {} : { app: { httpTimeout } })
  scriptToken(attack, script)
  const res = await hitCallback(attack, await reachCallback(attack))
  return { attack, res }
}

const AFTER_EXCHANGE = ['GET /authorize', 'POST /token']

t.test('HTTP 500 with an OAuth error body -> 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const { attack, res } = await exchangeWith(t, () => ({ status: 500, body: { error: 'server_error', error_description: 'boom' } }))
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE, 'one attempt, no JWKS fetch')
})

t.test('HTTP 500 with an HTML body -> 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const { attack, res } = await exchangeWith(t, () => ({ status: 500, body: '<html>Internal Server Error</html>', headers: { 'content-type': 'text/html' } }))
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.notMatch(res.body, /Internal Server Error/, 'nothing of the IdP\'s body is echoed')
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('{"error":"invalid_grant"} 400 -> 401 FST_OIDC_INVALID_GRANT', async (t) => {
  const { attack, res } = await exchangeWith(t, () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'code expired' } }))
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_INVALID_GRANT', reason: 'invalid_grant' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('a code the OP does not know (its own invalid_grant) -> 401 FST_OIDC_INVALID_GRANT', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  callback.searchParams.set('code', 'a-code-the-op-never-issued')
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_INVALID_GRANT', reason: 'invalid_grant' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('the IdP is gone after /auth/login -> 502 FST_OIDC_IDP_UNREACHABLE', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  await attack.op.stop()
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_UNREACHABLE', reason: 'idp_unreachable' })
  t.same(opCalls(attack.op), ['GET /authorize'], 'nothing reached the stopped OP')
})

t.test('the connection is reset without an answer -> 502 FST_OIDC_IDP_UNREACHABLE', async (t) => {
  const { attack, res } = await exchangeWith(t, () => ({ destroy: true }))
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_UNREACHABLE', reason: 'idp_unreachable' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('a token endpoint slower than httpTimeout -> 504 FST_OIDC_IDP_TIMEOUT within about the time-out', async (t) => {
  const { attack, res } = await exchangeWith(t, () => ({ delayMs: 5000 }), 300)
  await expectRejected(t, attack, res, { status: 504, code: 'FST_OIDC_IDP_TIMEOUT', reason: 'idp_timeout' })
  t.ok(res.elapsed >= 250 && res.elapsed < 1500, `answered after ${res.elapsed} ms (time-out 300 ms)`)
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('a 200 answer that is not JSON -> 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const { attack, res } = await exchangeWith(t, () => ({ status: 200, body: 'access_token=abc&token_type=bearer' }))
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('a 200 answer with a JSON content type and a broken body -> 502', async (t) => {
  const { attack, res } = await exchangeWith(t, () => ({ status: 200, body: '{"access_token": ', headers: { 'content-type': 'application/json' } }))
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('token_type that is not Bearer -> 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const { attack, res } = await exchangeWith(t, async (ctx) => ({ body: { ...await ctx.defaultBody(), token_type: 'mac' } }))
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE, 'the ID token was not even looked at')
})

t.test('no id_token in the answer -> 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const { attack, res } = await exchangeWith(t, async (ctx) => {
    const { id_token: _dropped, ...body } = await ctx.defaultBody()
    return { body }
  })
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('no access_token in the answer -> 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const { attack, res } = await exchangeWith(t, async (ctx) => {
    const { access_token: _dropped, ...body } = await ctx.defaultBody()
    return { body }
  })
  await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  t.same(opCalls(attack.op), AFTER_EXCHANGE)
})

t.test('the code exchange sends the PKCE verifier and authenticates the client', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  const authorize = attack.op.requests('/authorize')[0]
  await hitCallback(attack, callback)
  const exchange = attack.op.requests('/token')[0]
  t.equal(exchange?.body.grant_type, 'authorization_code')
  t.equal(exchange?.body.code, callback.searchParams.get('code'))
  t.equal(exchange?.body.redirect_uri, `${attack.baseUrl}/auth/callback`)
  t.equal(authorize?.query.code_challenge_method, 'S256')
  t.ok(exchange?.body.code_verifier !== undefined && exchange.body.code_verifier.length >= 43, 'a PKCE verifier')
  t.match(exchange?.headers.authorization, /^Basic /, 'client_secret_basic')
})
