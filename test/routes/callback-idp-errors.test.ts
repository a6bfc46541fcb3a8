// An error response from the authorization endpoint (RFC 6749 4.1.2.1) ends the
// login with 401 FST_OIDC_IDP_ERROR; what the IdP wrote in error_description is
// shown escaped, never as markup.
import t from 'tap'
import { expectRejected, hitCallback, opCalls, reachCallback, startAttack } from '../helpers/attack.js'

const XSS = '<script>alert(1)</script>'

t.test('error=access_denied -> 401 FST_OIDC_IDP_ERROR, no code exchange', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => ({
    error: 'access_denied',
    error_description: XSS,
    state: defaults.state ?? '',
    iss: defaults.iss ?? ''
  })
  const callback = await reachCallback(attack)
  t.equal(callback.searchParams.get('error_description'), XSS)
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_IDP_ERROR', reason: 'idp_error' })
  const { message } = JSON.parse(res.body)
  t.match(message, /access_denied/, 'the message names the OAuth error')
  t.notMatch(message, /[<>]/, 'no markup in the JSON message either')
  t.match(message, '&lt;script&gt;alert(1)&lt;/script&gt;', 'the description is entity-escaped')
  t.same(opCalls(attack.op), ['GET /authorize'], 'the token endpoint was never called')
})

t.test('the HTML error page escapes the IdP\'s error_description', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => ({
    error: 'access_denied',
    error_description: `${XSS}<img src=x onerror=alert(2)>`,
    state: defaults.state ?? '',
    iss: defaults.iss ?? ''
  })
  const res = await hitCallback(attack, await reachCallback(attack), { headers: { accept: 'text/html,application/xhtml+xml' } })
  t.equal(res.status, 401)
  t.match(res.headers.get('content-type'), /^text\/html/)
  t.notMatch(res.body, /<script/i, 'no raw <script>')
  t.notMatch(res.body, /<img/i, 'no raw <img>')
  t.match(res.body, '&lt;script&gt;alert(1)&lt;/script&gt;', 'the description is shown escaped')
  t.match(res.body, 'FST_OIDC_IDP_ERROR')
  t.same(res.events.map((e) => [e.type, e.reason]), [['login_failure', 'idp_error']])
  t.same(opCalls(attack.op), ['GET /authorize'])
})

t.test('an error code that is not an OAuth token is not echoed', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => ({ error: XSS, state: defaults.state ?? '', iss: defaults.iss ?? '' })
  const res = await hitCallback(attack, await reachCallback(attack), { headers: { accept: 'text/html' } })
  t.equal(res.status, 401)
  t.notMatch(res.body, /script/i, 'nothing of the injected error code')
  t.same(res.events.map((e) => [e.type, e.reason]), [['login_failure', 'idp_error']])
})

t.test('an error response without state is not bound to this browser: 400 FST_OIDC_STATE_MISSING, its text not shown', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = () => ({ error: 'access_denied', error_description: 'Call 1-800-FAKE-HELP to unlock your account' })
  const res = await hitCallback(attack, await reachCallback(attack), { headers: { accept: 'text/html' } })
  t.equal(res.status, 400)
  t.match(res.body, 'FST_OIDC_STATE_MISSING')
  t.notMatch(res.body, /1-800|unlock|access_denied/, 'nothing an outsider wrote is shown on the app\'s origin')
  t.same(res.events.map((e) => [e.type, e.reason]), [['login_failure', 'state_missing']])
  t.same(opCalls(attack.op), ['GET /authorize'])
})

t.test('an error response with a wrong iss is a mix-up, not an IdP error -> 400', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => ({ error: 'access_denied', state: defaults.state ?? '', iss: 'https://evil.example' })
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_ISS_MISMATCH', reason: 'iss_mismatch' })
})
