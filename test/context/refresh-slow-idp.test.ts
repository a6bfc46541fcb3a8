// A slow IdP during a refresh (issue 11 point 4), memory store. The IdP rotates
// refresh tokens strictly (a reused one revokes the grant) and hangs on the
// refresh grant for longer than the HTTP time-out. The first request gets 504
// FST_OIDC_IDP_TIMEOUT and keeps its session; while the grant is still at the
// IdP, requests answer 503 FST_OIDC_REFRESH_PENDING with Retry-After and no
// second grant is sent; the IdP's late answer is saved into the session, so the
// next request works with the rotated tokens and the grant is never revoked.
// A late failure ends the back-off and leaves the session as it was.
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, startAttack, type Attack } from '../helpers/attack.js'
import type { BrowserResponse } from '../helpers/browser.js'
import { strictRotation, until, type Rotation } from '../helpers/rotating-op.js'

const JSON_ACCEPT = { accept: 'application/json' }
const HTTP_TIMEOUT = 1500

/** Logged in with an access token inside the refresh leeway (every guarded request refreshes); refreshed tokens live an hour. */
async function loggedIn (t: Test, gate?: Promise<void>, entered?: () => void): Promise<Attack & { rotation: Rotation }> {
  const attack = await startAttack(t, {
    app: {
      httpTimeout: HTTP_TIMEOUT,
      refreshLeeway: 60,
      routes: (app) => {
        app.get('/at', { preHandler: app.requireAuth() }, async (request) => ({ at: await request.oidc.accessToken() }))
        // A handler that reads its session first and needs the access token later.
        app.get('/slow-at', async (request) => {
          entered?.()
          await gate
          return { at: await request.oidc.accessToken() }
        })
      }
    }
  })
  attack.op.tokenTtl = 30
  const rotation = strictRotation(attack.op)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  attack.op.tokenTtl = 3600
  return Object.assign(attack, { rotation })
}

function clearsSessionCookie (res: BrowserResponse): boolean {
  return res.headers.getSetCookie().some((c) => c.startsWith('oidc.sid=;') || /;\s*max-age=0\b/i.test(c))
}

const code = (res: BrowserResponse): string => (JSON.parse(res.body) as { code: string }).code

t.test('IdP hangs past the time-out: 504 once, then 503 + Retry-After without a second grant; the late answer is kept', async (t) => {
  const attack = await loggedIn(t)
  const { rotation, browser, baseUrl } = attack
  const release = rotation.hang()

  const first = await browser.get(`${baseUrl}/private`, JSON_ACCEPT)
  t.equal(first.status, 504, 'the first request waited one HTTP time-out')
  t.equal(code(first), 'FST_OIDC_IDP_TIMEOUT')
  t.ok(Number(first.headers.get('retry-after')) >= 1, 'with Retry-After')
  t.notOk(clearsSessionCookie(first), 'the session is kept')

  const during = await Promise.all([1, 2, 3, 4].map(async () => await browser.get(`${baseUrl}/private`, JSON_ACCEPT)))
  t.same(during.map((r) => r.status), [503, 503, 503, 503], 'while the grant is at the IdP: 503')
  t.same(during.map(code), Array(4).fill('FST_OIDC_REFRESH_PENDING'))
  t.ok(during.every((r) => Number(r.headers.get('retry-after')) >= 1), 'each with Retry-After')
  t.notOk(during.some(clearsSessionCookie), 'no answer clears the session cookie')
  const page = await browser.get(`${baseUrl}/private`, { accept: 'text/html' })
  t.equal(page.status, 503, 'a browser gets the error page')
  t.match(page.body, 'FST_OIDC_REFRESH_PENDING')
  t.ok(Number(page.headers.get('retry-after')) >= 1)
  const session = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body) as { authenticated: boolean }
  t.equal(session.authenticated, true, '/auth/session: still logged in')
  t.equal(rotation.grants, 1, 'the IdP saw exactly one refresh grant')

  release()
  await until(() => attack.events.some((e) => e.type === 'refresh'), 'the late answer to be saved')
  const after = await browser.get(`${baseUrl}/at`, JSON_ACCEPT)
  t.equal(after.status, 200, 'the next request works')
  t.same(JSON.parse(after.body), { at: rotation.issued[0] }, 'with the access token of the late answer')
  t.equal(rotation.grants, 1, 'still one grant: the rotated tokens were saved, nothing was refreshed again')
  t.equal(rotation.reuses, 0, 'no refresh token was used twice')
  t.equal(rotation.revoked, false, 'the grant was never revoked')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [
    ['refresh_failure', 'idp_timeout', 'alice'],
    ...Array(5).fill(['refresh_failure', 'refresh_pending', 'alice']),
    ['refresh', undefined, 'alice']
  ], 'one timeout, one event per refused request, then the refresh')
})

t.test('the IdP fails late (500): the back-off ends, the session stays as it was, the next request refreshes', async (t) => {
  const attack = await loggedIn(t)
  const { rotation, browser, baseUrl } = attack
  rotation.failNext = true
  const release = rotation.hang()
  const first = await browser.get(`${baseUrl}/private`, JSON_ACCEPT)
  t.equal(first.status, 504)
  t.equal(code(first), 'FST_OIDC_IDP_TIMEOUT')
  t.equal((await browser.get(`${baseUrl}/private`, JSON_ACCEPT)).status, 503, 'pending')

  release()
  await until(() => attack.events.some((e) => e.reason === 'token_error'), 'the late failure')
  const after = await browser.get(`${baseUrl}/at`, JSON_ACCEPT)
  t.equal(after.status, 200, 'the back-off is over: the next request refreshes')
  t.same(JSON.parse(after.body), { at: rotation.issued[0] })
  t.equal(rotation.grants, 2, 'a second grant only after the first one failed')
  t.equal(rotation.reuses, 0)
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [
    ['refresh_failure', 'idp_timeout'],
    ['refresh_failure', 'refresh_pending'],
    ['refresh_failure', 'token_error'],
    ['refresh', undefined]
  ])
})

t.test('a request that joined the grant before the time-out gets the 504 too; one that reads the session after the answer gets the new tokens', async (t) => {
  const attack = await loggedIn(t)
  const { rotation, browser, baseUrl } = attack
  const release = rotation.hang()
  const both = await Promise.all([browser.get(`${baseUrl}/private`, JSON_ACCEPT), browser.get(`${baseUrl}/private`, JSON_ACCEPT)])
  t.same(both.map((r) => r.status), [504, 504], 'both waited for the one grant')
  t.equal(rotation.grants, 1)
  release()
  await until(() => attack.events.some((e) => e.type === 'refresh'), 'the late answer to be saved')
  const after = await browser.get(`${baseUrl}/at`, JSON_ACCEPT)
  t.same(JSON.parse(after.body), { at: rotation.issued[0] })
  t.equal(rotation.grants, 1)
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [['refresh_failure', 'idp_timeout'], ['refresh', undefined]], 'one event for the shared time-out')
})

t.test('a request that read its session before the time-out and needs the token after it: 503, no second grant', async (t) => {
  let open!: () => void
  let entered!: () => void
  const inHandler = new Promise<void>((resolve) => { entered = resolve })
  const attack = await loggedIn(t, new Promise((resolve) => { open = resolve }), () => entered())
  const { rotation, browser, baseUrl } = attack
  const release = rotation.hang()
  const slow = browser.get(`${baseUrl}/slow-at`, JSON_ACCEPT)
  await inHandler
  t.equal((await browser.get(`${baseUrl}/private`, JSON_ACCEPT)).status, 504)
  open()
  const res = await slow
  t.equal(res.status, 503)
  t.equal(code(res), 'FST_OIDC_REFRESH_PENDING')
  t.equal(rotation.grants, 1)
  release()
  await until(() => attack.events.some((e) => e.type === 'refresh'), 'the late answer to be saved')
  t.same(JSON.parse((await browser.get(`${baseUrl}/slow-at`, JSON_ACCEPT)).body), { at: rotation.issued[0] })
  t.equal(rotation.reuses, 0)
})
