// Back-channel logout ends the right sessions. With the real oidc-provider: a
// logout AT THE IDP (not through the app's /auth/logout) makes the IdP post a
// logout token to /auth/backchannel-logout, which ends that IdP session's app
// session only. With the hostile OP (tokens written by hand): a token naming
// only the user (`sub`) ends every session of that user, and a session whose
// ID token named no `sid` is still found by a token with a `sid` and its `sub`.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose'
import t from 'tap'
import type { Test } from 'tap'
import { hitCallback, reachCallback, startAttack, type Attack } from '../helpers/attack.js'
import { Browser, loginAtProvider, logoutAtProvider } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { randomToken } from '../helpers/hostile-op.js'
import { freePort, startProvider, type Teardownable, type TestProvider } from '../helpers/provider.js'

const EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** One back-channel call the IdP made, and the app's answer to it. */
interface Delivery {
  path: string
  contentType: string | undefined
  form: URLSearchParams
  status: number
  headers: Headers
  body: string
}

/**
 * A recording HTTP hop between the IdP and the app: the IdP's back-channel
 * logout URI points here, every call is forwarded to the app unchanged and
 * recorded with the app's answer.
 */
async function startRecorder (t: Teardownable, appBaseUrl: string): Promise<{ baseUrl: string, deliveries: Delivery[] }> {
  const deliveries: Delivery[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const contentType = req.headers['content-type']
      fetch(`${appBaseUrl}${req.url ?? '/'}`, { method: req.method, headers: contentType === undefined ? {} : { 'content-type': contentType }, body })
        .then(async (answer) => {
          const text = await answer.text()
          deliveries.push({ path: req.url ?? '', contentType, form: new URLSearchParams(body), status: answer.status, headers: answer.headers, body: text })
          res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(text)
        }, () => res.writeHead(502).end())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  }))
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deliveries }
}

interface RealIdpSetup extends TestApp {
  idp: TestProvider
  deliveries: Delivery[]
}

/** The real IdP, its client's back-channel logout URI (through the recorder) on `sid` required, and the app. */
async function realIdp (t: Test): Promise<RealIdpSetup> {
  const port = await freePort()
  const appBaseUrl = `http://127.0.0.1:${port}`
  const recorder = await startRecorder(t, appBaseUrl)
  const idp = await startProvider(t, { appBaseUrl, backchannelLogoutUri: `${recorder.baseUrl}/auth/backchannel-logout` })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })
  return { ...app, idp, deliveries: recorder.deliveries }
}

/** Logs a new browser (its own IdP session) in; returns it and the IdP's `sid` from the login event. */
async function logIn (t: Test, setup: TestApp): Promise<{ browser: Browser, sid: string | undefined }> {
  const browser = new Browser()
  const mark = setup.events.length
  const res = await loginAtProvider(browser, `${setup.baseUrl}/auth/login?returnTo=/private`)
  t.equal(res.status, 200, 'logged in')
  const login = setup.events.slice(mark).find((e) => e.type === 'login')
  return { browser, sid: login?.sid }
}

/** What the app says about the browser's session: /private's status and /auth/session's `authenticated`. */
async function sessionState (browser: Browser, baseUrl: string): Promise<{ private: number, authenticated: boolean }> {
  const res = await browser.get(`${baseUrl}/private`, { accept: 'application/json' })
  const session = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body) as { authenticated: boolean }
  return { private: res.status, authenticated: session.authenticated }
}

const ALIVE = { private: 200, authenticated: true }
const GONE = { private: 401, authenticated: false }

t.jobs = 4

t.test('a logout at the IdP posts a logout token; the app answers 200 no-store and ends the session', async (t) => {
  const setup = await realIdp(t)
  const { idp, baseUrl, events, deliveries, logs } = setup
  const { browser, sid } = await logIn(t, setup)
  t.type(sid, 'string', 'the ID token names the IdP session (backchannel_logout_session_required)')
  t.same(await sessionState(browser, baseUrl), ALIVE)

  // At the IdP, not through the app: only the back channel can tell the app.
  const out = await logoutAtProvider(browser, `${idp.issuer}/session/end`)
  t.equal(out.status, 200, 'the IdP signed the browser out')
  t.notOk(out.hops.some((h) => h.url.startsWith(baseUrl)), 'the browser never went through the app')

  t.equal(deliveries.length, 1, 'the IdP called the back-channel logout URI once')
  const delivery = deliveries[0]!
  t.equal(delivery.path, '/auth/backchannel-logout')
  t.match(delivery.contentType, /^application\/x-www-form-urlencoded/, 'a form post')
  const token = delivery.form.get('logout_token') ?? ''
  t.equal(decodeProtectedHeader(token).typ, 'logout+jwt')
  const claims = decodeJwt(token)
  t.match(claims, { iss: idp.issuer, aud: idp.client.clientId, sub: 'demo', sid, events: { [EVENT]: {} } }, 'a logout token for this IdP session')
  t.type(claims.jti, 'string')
  t.equal(delivery.status, 200, 'the app answered 200')
  t.equal(delivery.headers.get('cache-control'), 'no-store', 'with Cache-Control: no-store')
  t.equal(delivery.body, '', 'and an empty body')

  t.same(await sessionState(browser, baseUrl), GONE, 'the app session is gone: /private 401, /auth/session anonymous')
  t.same(events.filter((e) => e.type.startsWith('backchannel')).map((e) => [e.type, e.provider, e.sub, e.sid]),
    [['backchannel_logout', 'default', 'demo', sid]], 'one backchannel_logout event with sub and sid')
  t.notOk(events.some((e) => e.type === 'logout'), 'no RP-initiated logout happened')
  t.notOk(logs.join('\n').includes(token), 'the logout token is not logged')
})

t.test('two IdP sessions of one user: the IdP logout of one ends only its app session', async (t) => {
  const setup = await realIdp(t)
  const { idp, baseUrl, events, deliveries } = setup
  const first = await logIn(t, setup)
  const second = await logIn(t, setup)
  t.type(first.sid, 'string')
  t.type(second.sid, 'string')
  t.not(first.sid, second.sid, 'two browsers, two IdP sessions')

  await logoutAtProvider(first.browser, `${idp.issuer}/session/end`)
  t.same(deliveries.map((d) => [d.status, decodeJwt(d.form.get('logout_token') ?? '')['sid']]), [[200, first.sid]], 'one logout token, for the first sid')
  t.same(await sessionState(first.browser, baseUrl), GONE, 'the first browser is logged out')
  t.same(await sessionState(second.browser, baseUrl), ALIVE, 'the second browser, same user, is still logged in')
  t.same(events.filter((e) => e.type === 'backchannel_logout').map((e) => e.sid), [first.sid])

  await logoutAtProvider(second.browser, `${idp.issuer}/session/end`)
  t.equal(deliveries.length, 2)
  t.equal(deliveries[1]?.status, 200)
  t.same(await sessionState(second.browser, baseUrl), GONE, 'its own IdP logout ends the second one')
})

// ------------------------------------------------------------- hostile OP

/** Claims of a valid logout token from `op` (a fresh `jti`); `undefined` values are left out. */
function logoutClaims (attack: Attack, claims: Record<string, unknown>): JWTPayload {
  const now = Math.floor(Date.now() / 1000)
  const all: Record<string, unknown> = { iss: attack.op.issuer, aud: attack.op.clientId, iat: now, exp: now + 120, jti: randomToken(), events: { [EVENT]: {} }, ...claims }
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined))
}

/** POSTs a logout token signed by the OP's current RSA key, as an IdP does. */
async function postLogout (attack: Attack, claims: Record<string, unknown>): Promise<Response> {
  const token = await attack.op.signIdToken(logoutClaims(attack, claims), { typ: 'logout+jwt' })
  return await fetch(`${attack.baseUrl}/auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token })
  })
}

/** A new browser logged in at the hostile OP as `user` (the OP signs the ID token with these claims). */
async function hostileLogin (t: Test, attack: Attack, user: Attack['op']['user']): Promise<Browser> {
  attack.op.user = user
  const browser = new Browser()
  const res = await hitCallback(attack, await reachCallback(attack, browser), { browser })
  t.equal(res.status, 302, `${user.sub} (sid ${String(user['sid'])}) logged in`)
  return browser
}

t.test('a logout token with only a sub ends every session of that user, and only theirs', async (t) => {
  const attack = await startAttack(t)
  const { baseUrl, events } = attack
  const alice1 = await hostileLogin(t, attack, { sub: 'alice', sid: 'op-sid-1' })
  const alice2 = await hostileLogin(t, attack, { sub: 'alice', sid: 'op-sid-2' })
  const alice3 = await hostileLogin(t, attack, { sub: 'alice' })
  const bob = await hostileLogin(t, attack, { sub: 'bob', sid: 'op-sid-3' })

  const res = await postLogout(attack, { sub: 'alice' })
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  for (const [name, browser] of [['alice (sid 1)', alice1], ['alice (sid 2)', alice2], ['alice (no sid)', alice3]] as const) {
    t.same(await sessionState(browser, baseUrl), GONE, `${name} is logged out`)
  }
  t.same(await sessionState(bob, baseUrl), ALIVE, 'bob is still logged in')
  const logout = events.filter((e) => e.type === 'backchannel_logout')
  t.equal(logout.length, 1)
  t.match(logout[0], { sub: 'alice', provider: 'default' })
  t.notOk('sid' in logout[0]!, 'no sid in the event: the token named none')
})

t.test('a session whose ID token had no sid is found by a logout token with a sid and its sub', async (t) => {
  const attack = await startAttack(t)
  const { baseUrl, events } = attack
  const nosid = await hostileLogin(t, attack, { sub: 'alice' })
  const withSid = await hostileLogin(t, attack, { sub: 'alice', sid: 'op-sid-kept' })
  const otherUser = await hostileLogin(t, attack, { sub: 'bob' })

  // A sid alone cannot name a session that recorded no sid.
  t.equal((await postLogout(attack, { sid: 'op-sid-gone' })).status, 200)
  t.same(await sessionState(nosid, baseUrl), ALIVE, 'a token with the sid only does not reach it')
  // Another user's sub with that sid does not either.
  t.equal((await postLogout(attack, { sid: 'op-sid-gone', sub: 'carol' })).status, 200)
  t.same(await sessionState(nosid, baseUrl), ALIVE, 'nor one with another user\'s sub')

  t.equal((await postLogout(attack, { sid: 'op-sid-gone', sub: 'alice' })).status, 200)
  t.same(await sessionState(nosid, baseUrl), GONE, 'the sid + sub token ends the session that recorded no sid')
  t.same(await sessionState(withSid, baseUrl), ALIVE, 'not the user\'s session of another IdP session')
  t.same(await sessionState(otherUser, baseUrl), ALIVE, 'nor another user\'s session without a sid')
  t.same(events.filter((e) => e.type === 'backchannel_logout').map((e) => [e.sid, e.sub]),
    [['op-sid-gone', undefined], ['op-sid-gone', 'carol'], ['op-sid-gone', 'alice']], 'each accepted token is an event')

  t.equal((await postLogout(attack, { sid: 'op-sid-kept' })).status, 200)
  t.same(await sessionState(withSid, baseUrl), GONE, 'a token with only its sid ends the session that recorded it')
})
