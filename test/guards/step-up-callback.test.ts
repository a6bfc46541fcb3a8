// The step-up login's callback against a hostile OP: an IdP that ignores
// acr_values, gives a lower acr, an auth_time in the future, or a login of
// another user is refused with a coded 403 and the signed-in session is kept as
// it was; a session that a step-up login just made and that still falls short
// (here: its refreshed ID token lowers the acr) gets 403 instead of another
// round trip (loop guard); returnTo keeps the normal login's rules.
import type { FastifyInstance } from 'fastify'
import type { JWTPayload } from 'jose'
import t from 'tap'
import type { Test } from 'tap'
import { cookiesSet, expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'
import type { TokenContext } from '../helpers/hostile-op.js'

const MFA = 'urn:example:mfa'
const HTML = { accept: 'text/html' }
const now = (): number => Math.floor(Date.now() / 1000)

function routes (app: FastifyInstance): void {
  app.get('/mfa', { preHandler: app.requireAuth({ acr: [MFA], maxAge: 300 }) }, async (request) => ({ acr: request.oidc.user?.['acr'] }))
}

/** Alice signed in with the OP's default ID token (no acr, no auth_time). */
async function signedIn (t: Test): Promise<Attack> {
  const attack = await startAttack(t, { app: { routes } })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

/** The OP's next ID tokens: its default claims with these over them. */
function answerWith (attack: Attack, claims: (ctx: TokenContext) => JWTPayload): void {
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), ...claims(ctx) }) } }))
}

/** The browser goes to /mfa, is sent through login, and comes back to the callback (as a page). */
async function stepUpCallback (t: Test, attack: Attack): Promise<CallbackAnswer> {
  const nav = await attack.browser.get(`${attack.baseUrl}/mfa`, HTML)
  t.equal(nav.status, 302, 'the page sends the browser through login')
  const res = await hitCallback(attack, await reachCallback(attack, attack.browser, nav.headers.get('location')!), { headers: HTML })
  const authorize = attack.op.requests('/authorize').at(-1)!.query
  t.match(authorize, { acr_values: MFA, max_age: '300' }, 'the OP was asked for the level and the age')
  return res
}

/** A refused step-up: the status, code and page, one login_failure, and Alice's session as it was. */
async function expectRefused (t: Test, attack: Attack, res: CallbackAnswer, code: string, reason: string, sid: string | undefined): Promise<void> {
  t.equal(res.status, 403)
  t.match(res.body, `<code>${code}</code>`, 'an HTML page with the code')
  t.same(res.events.map((e) => [e.type, e.reason]), [['login_failure', reason]])
  t.same(cookiesSet(res).filter((c) => c === 'oidc.sid'), [], 'no new session cookie')
  t.equal((await attack.browser.cookies(attack.baseUrl))['oidc.sid'], sid, 'the session cookie is unchanged')
  const session = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { authenticated: boolean, user: { sub: string } }
  t.equal(session.user.sub, 'alice', 'Alice is still signed in, as before')
  t.equal(attack.op.requests('/authorize').length, 2, 'one step-up round trip, no loop')
}

t.jobs = 4

t.test('the OP ignores acr_values (no acr): 403 FST_OIDC_STEP_UP_FAILED saying what was asked and what came back', async (t) => {
  const attack = await signedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  answerWith(attack, () => ({ auth_time: now() }))
  const res = await stepUpCallback(t, attack)
  await expectRefused(t, attack, res, 'FST_OIDC_STEP_UP_FAILED', 'step_up_acr', sid)
  t.match(res.body, /asked for acr urn:example:mfa, an authentication at most 300 s old; got no acr, an authentication \d+ s old/)
})

t.test('a lower acr: 403 FST_OIDC_STEP_UP_FAILED (step_up_acr); markup in it is shown as text', async (t) => {
  const attack = await signedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  answerWith(attack, () => ({ acr: '<b>pwd</b>', auth_time: now() }))
  const res = await stepUpCallback(t, attack)
  await expectRefused(t, attack, res, 'FST_OIDC_STEP_UP_FAILED', 'step_up_acr', sid)
  t.match(res.body, 'got acr &quot;&lt;b&gt;pwd&lt;/b&gt;&quot;')
  t.notMatch(res.body, '<b>')
})

t.test('an auth_time in the future: 403 FST_OIDC_STEP_UP_FAILED (step_up_auth_time)', async (t) => {
  const attack = await signedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  answerWith(attack, () => ({ acr: MFA, auth_time: now() + 600 }))
  const res = await stepUpCallback(t, attack)
  await expectRefused(t, attack, res, 'FST_OIDC_STEP_UP_FAILED', 'step_up_auth_time', sid)
  t.match(res.body, /got acr &quot;urn:example:mfa&quot;, an auth_time \d+ s in the future/)
})

t.test('an old auth_time: 403 FST_OIDC_STEP_UP_FAILED (step_up_auth_time)', async (t) => {
  const attack = await signedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  answerWith(attack, () => ({ acr: MFA, auth_time: now() - 3600 }))
  await expectRefused(t, attack, await stepUpCallback(t, attack), 'FST_OIDC_STEP_UP_FAILED', 'step_up_auth_time', sid)
})

t.test('the step-up login comes back for another user: 403 FST_OIDC_STEP_UP_SUBJECT_MISMATCH, Alice\'s session kept', async (t) => {
  const attack = await signedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  answerWith(attack, () => ({ sub: 'mallory', acr: MFA, auth_time: now() }))
  const res = await stepUpCallback(t, attack)
  await expectRefused(t, attack, res, 'FST_OIDC_STEP_UP_SUBJECT_MISMATCH', 'step_up_subject', sid)
  t.equal((await attack.browser.get(`${attack.baseUrl}/mfa`, { accept: 'application/json' })).status, 401, 'Alice still has to step up')
})

t.test('a step-up login that satisfies the page: a new session, then the page', async (t) => {
  const attack = await signedIn(t)
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  answerWith(attack, () => ({ acr: MFA, auth_time: now() - 10 }))
  const res = await stepUpCallback(t, attack)
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), '/mfa')
  t.not((await attack.browser.cookies(attack.baseUrl))['oidc.sid'], sid, 'a new session id')
  const page = await attack.browser.get(`${attack.baseUrl}/mfa`, HTML)
  t.equal(page.status, 200)
  t.same(JSON.parse(page.body), { acr: MFA })
})

t.test('loop guard: a session the step-up login just made falls short again (its refresh lowers the acr): 403, no second round trip', async (t) => {
  const attack = await signedIn(t)
  // Short-lived access tokens: the first request after the step-up refreshes them.
  attack.op.tokenTtl = 10
  answerWith(attack, (ctx) => ({ acr: ctx.grantType === 'refresh_token' ? 'urn:example:pwd' : MFA, auth_time: now() }))
  const res = await stepUpCallback(t, attack)
  t.equal(res.status, 302, 'the step-up login succeeded')
  const page = await attack.browser.get(`${attack.baseUrl}/mfa`, HTML)
  t.equal(attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length, 1, 'the session was refreshed')
  t.equal(page.status, 403, 'not sent through login again')
  t.match(page.body, '<code>FST_OIDC_STEP_UP_FAILED</code>')
  t.match(page.body, 'got acr &quot;urn:example:pwd&quot;')
  t.equal(attack.op.requests('/authorize').length, 2, 'one step-up round trip')
  const api = await attack.browser.get(`${attack.baseUrl}/mfa`, { accept: 'application/json' })
  t.equal(api.status, 401, 'an API call still gets the RFC 9470 answer')
})

t.test('returnTo of a step-up login keeps the login rules; acr_values / max_age that cannot be checked are not sent', async (t) => {
  const attack = await signedIn(t)
  answerWith(attack, () => ({ acr: MFA, auth_time: now() }))
  const crafted = await hitCallback(attack, await reachCallback(attack, attack.browser, `/auth/login?returnTo=${encodeURIComponent('//evil.example')}&acr_values=${MFA}`))
  t.equal(crafted.status, 302)
  t.equal(crafted.headers.get('location'), '/', 'another site falls back to /')
  t.same(crafted.events.map((e) => e.type), ['login'])
  await reachCallback(attack, attack.browser, '/auth/login?acr_values=%22x%22%20y&max_age=1.5')
  const query = attack.op.requests('/authorize').at(-1)!.query
  t.notOk('acr_values' in query, 'acr values with a quote are not sent')
  t.notOk('max_age' in query, 'a max_age that is no whole number is not sent')
})
