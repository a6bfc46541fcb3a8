// Login transactions live in `oidc.tx.<state>` cookies scoped to the plugin's
// routes (Path=/auth). A browser may have at most four logins under way: starting
// a fifth clears the oldest one's cookie, so that login can no longer complete
// (400 FST_OIDC_STATE_MISMATCH) while the newest one does.
import t from 'tap'
import type { BrowserResponse } from '../helpers/browser.js'
import { expectLoggedIn, expectRejected, hitCallback, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'

const txNames = (cookies: Record<string, string>): string[] => Object.keys(cookies).filter((name) => name.startsWith('oidc.tx.'))

/** Follows a login's redirect to the OP and back, up to (not into) the callback; its code and state become secrets. */
async function toCallback (attack: Attack, login: BrowserResponse): Promise<URL> {
  const res = await attack.browser.continue(login, { stopAt: (url) => url.pathname === '/auth/callback' })
  const callback = new URL(res.stoppedAt!)
  for (const name of ['code', 'state']) attack.secrets.add(callback.searchParams.get(name)!)
  return callback
}

t.test('the transaction cookie is HttpOnly, SameSite=Lax, Path=/auth, and not sent to the app\'s other paths', async (t) => {
  const attack = await startAttack(t)
  const login = await attack.browser.get(`${attack.baseUrl}/auth/login`)
  const state = new URL(login.hops[0]!.location!).searchParams.get('state')!
  const [cookie, ...more] = login.headers.getSetCookie()
  t.equal(more.length, 0, 'one cookie set')
  t.ok(cookie?.startsWith(`oidc.tx.${state}=`), 'named after the state')
  t.match(cookie, /; Path=\/auth(;|$)/, 'Path=/auth')
  t.match(cookie, /; HttpOnly/i)
  t.match(cookie, /; SameSite=Lax/i)
  t.same(txNames(await attack.browser.cookies(`${attack.baseUrl}/auth/callback`)), [`oidc.tx.${state}`], 'sent to the callback')
  t.same(txNames(await attack.browser.cookies(`${attack.baseUrl}/private`)), [], 'not sent outside /auth')
})

t.test('a fifth login in one browser clears the oldest; the oldest fails, the newest completes', async (t) => {
  const attack = await startAttack(t)
  const logins: BrowserResponse[] = []
  const states: string[] = []
  for (let i = 0; i < 5; i++) {
    const login = await attack.browser.get(`${attack.baseUrl}/auth/login`)
    t.equal(login.status, 302, `login ${i + 1} redirects`)
    logins.push(login)
    states.push(new URL(login.hops[0]!.location!).searchParams.get('state')!)
  }

  const cleared = logins[4]!.headers.getSetCookie().filter((c) => /^oidc\.tx\.[^=]+=;/.test(c))
  t.equal(cleared.length, 1, 'the fifth login clears one cookie')
  t.ok(cleared[0]?.startsWith(`oidc.tx.${states[0]}=;`), 'the first (oldest) one')
  t.match(cleared[0], /; Path=\/auth(;|$)/, 'cleared on the path it was set with')

  const jar = txNames(await attack.browser.cookies(`${attack.baseUrl}/auth/callback`))
  t.ok(jar.length <= 4, `at most 4 transaction cookies remain (${jar.length})`)
  t.same(jar.sort(), states.slice(1).map((s) => `oidc.tx.${s}`).sort(), 'the four newest')

  const oldest = await toCallback(attack, logins[0]!)
  await expectRejected(t, attack, await hitCallback(attack, oldest), { status: 400, code: 'FST_OIDC_STATE_MISMATCH', reason: 'state_mismatch' })
  t.equal(attack.op.requests('/token').length, 0, 'the oldest login\'s code was never exchanged')

  const newest = await toCallback(attack, logins[4]!)
  await expectLoggedIn(t, attack, await hitCallback(attack, newest))
})

t.test('four logins in one browser all stay pending', async (t) => {
  const attack = await startAttack(t)
  const states: string[] = []
  for (let i = 0; i < 4; i++) {
    const login = await attack.browser.get(`${attack.baseUrl}/auth/login`)
    t.same(login.headers.getSetCookie().filter((c) => /^oidc\.tx\.[^=]+=;/.test(c)), [], `login ${i + 1} clears nothing`)
    states.push(new URL(login.hops[0]!.location!).searchParams.get('state')!)
  }
  t.same(txNames(await attack.browser.cookies(`${attack.baseUrl}/auth/callback`)).sort(), states.map((s) => `oidc.tx.${s}`).sort())
})
