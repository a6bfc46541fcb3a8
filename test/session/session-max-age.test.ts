// Sessions have an absolute lifetime: `sessionMaxAge` from the login. Requests
// in between do not extend it — neither a guarded request (which writes
// nothing and sets no cookie) nor one that refreshes the tokens (which writes
// the session, but keeps the login's expiry).
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'

const MAX_AGE = 60

/**
 * Session expiry is measured with Date.now(): move this process's wall clock
 * forward (the app's and the in-process OP's alike; timers are untouched).
 * Restored when the test ends.
 */
const realNow = Date.now
let offset = 0
function advanceClock (t: Test, ms: number): void {
  if (offset === 0) {
    Date.now = () => realNow() + offset
    t.teardown(() => {
      Date.now = realNow
      offset = 0
    })
  }
  offset += ms
}

/** Logged in with sessionMaxAge 60 s; answers the session cookie, sent by hand from now on so only the server decides. */
async function loggedIn (t: Test, refreshLeeway = 0): Promise<{ attack: Attack, cookie: string }> {
  const attack = await startAttack(t, { app: { sessionMaxAge: MAX_AGE, refreshLeeway } })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const sid = (await attack.browser.cookies(attack.baseUrl))['oidc.sid']
  t.ok(sid, 'a session cookie')
  return { attack, cookie: `oidc.sid=${sid}` }
}

async function session (attack: Attack, cookie: string): Promise<{ authenticated: boolean, setCookies: string[] }> {
  const res = await fetch(`${attack.baseUrl}/auth/session`, { headers: { cookie } })
  return { ...(await res.json() as { authenticated: boolean }), setCookies: res.headers.getSetCookie() }
}

async function guarded (attack: Attack, cookie: string): Promise<Response> {
  return await fetch(`${attack.baseUrl}/private`, { headers: { cookie, accept: 'application/json' } })
}

const sessionCookies = (res: Response): string[] => res.headers.getSetCookie().filter((c) => c.startsWith('oidc.sid='))

t.test('alive at 30 s, a guarded request does not extend it, anonymous at 61 s', async (t) => {
  const { attack, cookie } = await loggedIn(t)

  advanceClock(t, 30_000)
  const half = await guarded(attack, cookie)
  t.equal(half.status, 200, 'at 30 s the guarded route answers')
  t.same(sessionCookies(half), [], 'no Set-Cookie oidc.sid: the session is not renewed')
  t.equal((await session(attack, cookie)).authenticated, true, 'at 30 s the session is authenticated')

  advanceClock(t, 31_000)
  const late = await session(attack, cookie)
  t.equal(late.authenticated, false, 'at 61 s the session is anonymous')
  t.ok(late.setCookies.some((c) => c.startsWith('oidc.sid=;') || /^oidc\.sid=[^;]*;.*expires=Thu, 01 Jan 1970/i.test(c)), 'and its cookie is cleared')
  const res = await guarded(attack, cookie)
  t.equal(res.status, 401)
  t.equal((await res.json() as { code: string }).code, 'FST_OIDC_UNAUTHENTICATED')
  t.same(attack.events.map((e) => e.type), ['login'], 'no refresh happened')
})

t.test('a refresh at 30 s writes the session but keeps the login\'s expiry: anonymous at 61 s', async (t) => {
  // Tokens live 300 s; a leeway of 600 s makes every guarded request refresh.
  const { attack, cookie } = await loggedIn(t, 600)
  const loginExpiry = Date.now() + MAX_AGE * 1000

  advanceClock(t, 30_000)
  const half = await guarded(attack, cookie)
  t.equal(half.status, 200, 'at 30 s the guarded route answers')
  t.same(attack.events.map((e) => e.type), ['login', 'refresh'], 'after a refresh')
  for (const set of sessionCookies(half)) {
    const expires = Date.parse(/;\s*expires=([^;]+)/i.exec(set)?.[1] ?? '')
    // Expires has a one-second resolution.
    t.ok(expires <= loginExpiry, `the cookie written by the refresh expires ${Math.round((expires - loginExpiry) / 1000)} s after the login's expiry`)
  }

  advanceClock(t, 31_000)
  t.equal((await session(attack, cookie)).authenticated, false, 'at 61 s the session is anonymous')
  t.equal((await guarded(attack, cookie)).status, 401)
})

t.test('concurrent requests joining one refresh at 30 s all keep the login\'s expiry', async (t) => {
  const { attack, cookie } = await loggedIn(t, 600)
  const loginExpiry = Date.now() + MAX_AGE * 1000
  // The IdP takes its time, so every request joins the refresh in flight.
  attack.op.onToken = async (ctx) => ({ body: await ctx.defaultBody(), delayMs: ctx.grantType === 'refresh_token' ? 300 : 0 })

  advanceClock(t, 30_000)
  const answers = await Promise.all([1, 2, 3].map(async () => await guarded(attack, cookie)))
  t.same(answers.map((r) => r.status), [200, 200, 200])
  t.equal(attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length, 1, 'one refresh for all three')
  const written = answers.flatMap(sessionCookies)
  t.ok(written.length >= 1, `${written.length} Set-Cookie oidc.sid`)
  for (const set of written) {
    const expires = Date.parse(/;\s*expires=([^;]+)/i.exec(set)?.[1] ?? '')
    t.ok(expires <= loginExpiry, `a cookie written at 30 s expires ${Math.round((expires - loginExpiry) / 1000)} s after the login's expiry`)
  }

  advanceClock(t, 31_000)
  t.equal((await session(attack, cookie)).authenticated, false, 'at 61 s the session is anonymous')
})
