// RFC 9207: the `iss` authorization response parameter must name the configured
// issuer (mix-up defence), and must be there when the IdP advertises
// `authorization_response_iss_parameter_supported`. Checked before the code exchange.
import t from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, opCalls, reachCallback, startAttack } from '../helpers/attack.js'

t.test('iss of another issuer -> 400 FST_OIDC_ISS_MISMATCH, the token endpoint is never called', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => ({ ...defaults, iss: 'https://evil.example' })
  const callback = await reachCallback(attack)
  t.equal(callback.searchParams.get('iss'), 'https://evil.example')
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_ISS_MISMATCH', reason: 'iss_mismatch' })
  t.same(opCalls(attack.op), ['GET /authorize'], 'the code was never sent anywhere')
})

t.test('iss differing only by a trailing slash -> 400 (exact comparison)', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => ({ ...defaults, iss: `${attack.op.issuer}/` })
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_ISS_MISMATCH', reason: 'iss_mismatch' })
  t.same(opCalls(attack.op), ['GET /authorize'])
})

t.test('iss missing while the IdP advertises it -> 400, the token endpoint is never called', async (t) => {
  const attack = await startAttack(t)
  t.equal(attack.op.metadata.authorization_response_iss_parameter_supported, true)
  attack.op.onAuthorize = (_params, defaults) => {
    const { iss: _dropped, ...rest } = defaults
    return rest
  }
  const callback = await reachCallback(attack)
  t.equal(callback.searchParams.get('iss'), null)
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_ISS_MISMATCH', reason: 'iss_missing' })
  t.same(opCalls(attack.op), ['GET /authorize'])
})

t.test('iss missing while the IdP does not advertise it -> the login succeeds', async (t) => {
  const attack = await startAttack(t, { op: { issResponseParameter: false } })
  const callback = await reachCallback(attack)
  t.equal(callback.searchParams.get('iss'), null, 'the IdP sends no iss')
  await expectLoggedIn(t, attack, await hitCallback(attack, callback))
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'])
})

t.test('a wrong iss is refused even when the IdP does not advertise the parameter', async (t) => {
  const attack = await startAttack(t, { op: { issResponseParameter: false } })
  attack.op.onAuthorize = (_params, defaults) => ({ ...defaults, iss: 'https://evil.example' })
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_ISS_MISMATCH', reason: 'iss_mismatch' })
  t.same(opCalls(attack.op), ['GET /authorize'])
})

t.test('a repeated iss parameter -> 400 FST_OIDC_CALLBACK_MALFORMED', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  callback.searchParams.append('iss', 'https://evil.example')
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_CALLBACK_MALFORMED', reason: 'malformed_callback' })
  t.same(opCalls(attack.op), ['GET /authorize'])
})
