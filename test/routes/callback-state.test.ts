// The state check binds a callback to the login transaction started in this browser:
// a missing, foreign, forged or replayed state is refused (400) before the code is
// ever sent to the token endpoint.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Browser } from '../helpers/browser.js'
import {
  cookiesSet, expectLoggedIn, expectNoLeak, expectRejected, hitCallback, opCalls, reachCallback, scriptToken, startAttack
} from '../helpers/attack.js'

const randomState = (): string => randomBytes(32).toString('base64url')

t.test('/auth/login sets only the transaction cookie: HttpOnly, SameSite=Lax, plugin-routes path, at most 10 minutes', async (t) => {
  const attack = await startAttack(t)
  const res = await attack.browser.get(`${attack.baseUrl}/auth/login`)
  t.equal(res.status, 302)
  const authorize = new URL(res.headers.get('location') ?? '')
  t.equal(authorize.origin + authorize.pathname, attack.op.url('/authorize'))
  const state = authorize.searchParams.get('state') ?? ''
  const nonce = authorize.searchParams.get('nonce') ?? ''
  t.match(state, /^[\w-]{22,}$/, 'a fresh state')

  const setCookies = res.headers.getSetCookie()
  t.equal(setCookies.length, 1, 'one cookie')
  t.same(cookiesSet(res), [`oidc.tx.${state}`], 'the transaction cookie, named after the state; no oidc.sid')
  const [pair = '', ...attributes] = (setCookies[0] ?? '').split(/;\s*/)
  const attrs = new Map(attributes.map((a) => {
    const [k = '', v = ''] = a.split('=')
    return [k.toLowerCase(), v]
  }))
  t.ok(attrs.has('httponly'), 'HttpOnly')
  t.equal(attrs.get('samesite')?.toLowerCase(), 'lax', 'SameSite=Lax')
  t.equal(attrs.get('path'), '/auth', 'Path=/auth: the plugin routes only')
  const maxAge = Number(attrs.get('max-age'))
  t.ok(maxAge > 0 && maxAge <= 600, `Max-Age ${maxAge} <= 600`)
  const value = pair.slice(pair.indexOf('=') + 1)
  t.equal(value.split('.').length, 5, 'the value is a compact JWE')
  t.notOk(value.includes(nonce), 'the nonce is not readable in the cookie')

  const session = await attack.browser.get(`${attack.baseUrl}/auth/session`)
  t.same(JSON.parse(session.body), { authenticated: false, user: null, expiresAt: null })
  t.same(await attack.browser.cookies(`${attack.baseUrl}/`), {}, 'nothing for the rest of the site')
})

t.test('state missing from the callback -> 400 FST_OIDC_STATE_MISSING, no code exchange', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => {
    const { state: _dropped, ...rest } = defaults
    return rest
  }
  const callback = await reachCallback(attack)
  t.equal(callback.searchParams.get('state'), null)
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_MISSING', reason: 'state_missing' })
  t.same(opCalls(attack.op), ['GET /authorize'], 'the token endpoint was never called')
})

t.test('a random state -> 400 FST_OIDC_STATE_MISMATCH, no code exchange', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  callback.searchParams.set('state', randomState())
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_MISMATCH', reason: 'state_mismatch' })
  t.same(opCalls(attack.op), ['GET /authorize'], 'the token endpoint was never called')
})

t.test('login CSRF: the attacker\'s callback (code and state) opened in the victim\'s browser -> 400', async (t) => {
  const attack = await startAttack(t)
  await reachCallback(attack) // the victim has a login of her own in progress
  const attacker = new Browser()
  const forged = await reachCallback(attack, attacker)
  const res = await hitCallback(attack, forged)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_MISMATCH', reason: 'state_mismatch' })
  t.same(opCalls(attack.op), ['GET /authorize', 'GET /authorize'], 'the attacker\'s code was never redeemed')
})

t.test('the callback opened in another browser (no transaction cookie) -> 400', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  const res = await hitCallback(attack, callback, { browser: new Browser() })
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_MISMATCH', reason: 'state_mismatch' })
  t.same(opCalls(attack.op), ['GET /authorize'], 'the token endpoint was never called')
})

t.test('a transaction cookie sealed for another state, renamed to this state -> 400', async (t) => {
  const attack = await startAttack(t)
  const attacker = new Browser()
  const attackerCallback = await reachCallback(attack, attacker)
  const attackerCookie = (await attacker.cookies(attackerCallback))[`oidc.tx.${attackerCallback.searchParams.get('state')}`]
  t.type(attackerCookie, 'string', 'the attacker holds a genuine transaction cookie')

  const callback = await reachCallback(attack)
  const name = `oidc.tx.${callback.searchParams.get('state')}`
  await attack.browser.jar.setCookie(`${name}=${attackerCookie}; Path=/auth; HttpOnly`, callback.href)
  t.equal((await attack.browser.cookies(callback))[name], attackerCookie)
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_MISMATCH', reason: 'state_mismatch' })
  t.same(opCalls(attack.op), ['GET /authorize', 'GET /authorize'], 'the token endpoint was never called')
})

t.test('a repeated state parameter -> 400 FST_OIDC_CALLBACK_MALFORMED', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  callback.searchParams.append('state', randomState())
  const res = await hitCallback(attack, callback)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_CALLBACK_MALFORMED', reason: 'malformed_callback' })
  t.same(opCalls(attack.op), ['GET /authorize'], 'the token endpoint was never called')
})

t.test('a callback without a code -> 400 FST_OIDC_CALLBACK_MALFORMED', async (t) => {
  const attack = await startAttack(t)
  attack.op.onAuthorize = (_params, defaults) => {
    const { code: _dropped, ...rest } = defaults
    return rest
  }
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_CALLBACK_MALFORMED', reason: 'malformed_callback' })
  t.same(opCalls(attack.op), ['GET /authorize'], 'the token endpoint was never called')
})

t.test('replay of a callback that failed at the token endpoint -> once to a fresh login, then 400 FST_OIDC_STATE_REPLAYED', async (t) => {
  const attack = await startAttack(t)
  scriptToken(attack, () => ({ status: 503, body: 'try again later' }))
  const callback = await reachCallback(attack)
  const first = await hitCallback(attack, callback)
  t.equal(first.status, 502, 'the first attempt fails at the IdP')
  t.same(cookiesSet(first), [], 'and sets no cookie')

  scriptToken(attack)
  const reload = await hitCallback(attack, callback)
  t.equal(reload.status, 302, 'the first replay starts the login afresh')
  t.equal(reload.headers.get('location'), '/auth/login?returnTo=%2F')
  const again = await hitCallback(attack, callback)
  await expectRejected(t, attack, again, { status: 400, code: 'FST_OIDC_STATE_REPLAYED', reason: 'state_replayed' })
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token'], 'the code was not sent a second time')
})

t.test('replay of a successful callback, same browser -> 400 FST_OIDC_STATE_REPLAYED; the session is untouched', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  const first = await hitCallback(attack, callback)
  await expectLoggedIn(t, attack, first)
  const sid = (await attack.browser.cookies(`${attack.baseUrl}/`))['oidc.sid']

  const again = await hitCallback(attack, callback)
  t.equal(again.status, 400)
  t.match(JSON.parse(again.body), { statusCode: 400, code: 'FST_OIDC_STATE_REPLAYED' })
  t.same(again.events.map((e) => [e.type, e.reason]), [['login_failure', 'state_replayed']])
  const rolled = again.headers.getSetCookie().filter((c) => c.startsWith('oidc.sid='))
  t.ok(rolled.every((c) => c.startsWith(`oidc.sid=${sid};`)), 'no new session id is set (a rolling cookie keeps the old one)')
  t.equal((await attack.browser.cookies(`${attack.baseUrl}/`))['oidc.sid'], sid, 'the session id is unchanged')
  const session = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body)
  t.equal(session.user?.sub, 'alice', 'the first login\'s session is still there')
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'the code was exchanged once')
  expectNoLeak(t, attack, [again])
})

t.test('replay by an attacker who copied the callback URL and the transaction cookie -> 400 FST_OIDC_STATE_REPLAYED', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  const name = `oidc.tx.${callback.searchParams.get('state')}`
  const stolen = (await attack.browser.cookies(callback))[name]
  await expectLoggedIn(t, attack, await hitCallback(attack, callback))

  const attacker = new Browser()
  await attacker.jar.setCookie(`${name}=${stolen}; Path=/auth; HttpOnly`, callback.href)
  const res = await hitCallback(attack, callback, { browser: attacker })
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_REPLAYED', reason: 'state_replayed' })
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'the code was exchanged once')
})
