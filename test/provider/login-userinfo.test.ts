// OIDC_FETCH_USERINFO (per provider: OIDC_<NAME>_FETCH_USERINFO, or fetchUserinfo):
// after the ID token is validated, userinfo is fetched with the access token in
// a Bearer header (never the query string) and merged into the user's claims —
// only when its `sub` is the ID token's; the ID token's own claims win. A
// userinfo answer about another user, refused or late fails the login: no session.
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { expectLoggedIn, expectRejected, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'
import { twoProviders } from '../helpers/two-providers.js'

t.test('userinfo claims are added; the ID token\'s win; the token goes in a Bearer header', async (t) => {
  const attack = await startAttack(t, { app: { fetchUserinfo: true } })
  attack.op.onUserinfo = (ctx) => ctx.valid ? { body: { ...ctx.defaultClaims(), name: 'Someone Else', phone_number: '+44 20 7946 0000' } } : undefined
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const session = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body)
  t.equal(session.user.phone_number, '+44 20 7946 0000', 'a claim only userinfo has')
  t.equal(session.user.name, 'Alice Liddell', 'the validated ID token\'s claim wins')
  const [request] = attack.op.requests('/userinfo')
  t.match(request, { method: 'GET', query: {}, rawBody: '' })
  t.match(request?.headers.authorization, /^Bearer \S+$/)
  t.same(attack.op.log.map((r) => r.path).slice(-2), ['/jwks', '/userinfo'], 'after the ID token was validated')
})

t.test('userinfo about another sub: 502, login_failure (userinfo_sub_mismatch), no session', async (t) => {
  const attack = await startAttack(t, { app: { fetchUserinfo: true } })
  attack.op.onUserinfo = (ctx) => ({ body: { ...ctx.defaultClaims(), sub: 'mallory' } })
  await expectRejected(t, attack, await hitCallback(attack, await reachCallback(attack)), { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'userinfo_sub_mismatch' })
})

t.test('userinfo refusing the token (401) or too slow (504): the login fails', async (t) => {
  const attack = await startAttack(t, { app: { fetchUserinfo: true, httpTimeout: 300 } })
  attack.op.onUserinfo = () => ({ status: 401, body: { error: 'invalid_token' } })
  await expectRejected(t, attack, await hitCallback(attack, await reachCallback(attack)), { status: 401, code: 'FST_OIDC_IDP_ERROR', reason: 'userinfo_error' })
  attack.op.onUserinfo = () => ({ delayMs: 3000 })
  attack.browser = new Browser()
  await expectRejected(t, attack, await hitCallback(attack, await reachCallback(attack)), { status: 504, code: 'FST_OIDC_IDP_TIMEOUT', reason: 'idp_timeout' })
})

t.test('per provider: only the provider configured for it fetches userinfo', async (t) => {
  const setup = await twoProviders(t, { env: { OIDC_B_FETCH_USERINFO: 'true' } })
  await new Browser().follow(`${setup.baseUrl}/auth/login?provider=a`)
  await new Browser().follow(`${setup.baseUrl}/auth/login?provider=b`)
  t.same(setup.events.map((e) => [e.type, e.provider]), [['login', 'a'], ['login', 'b']])
  t.equal(setup.a.requests('/userinfo').length, 0)
  t.equal(setup.b.requests('/userinfo').length, 1)
})
