// A callback that failed upstream (the IdP unusable: 502, or too slow: 504) offers
// a way on: its page links to a fresh login to the same returnTo, and reloading it
// sends the browser to that fresh login once; the next reload is the plain 400
// FST_OIDC_STATE_REPLAYED page (never a loop). A callback that failed for another
// reason, or succeeded, is not offered a retry.
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack, type Attack } from '../helpers/attack.js'
import { Browser } from '../helpers/browser.js'
import type { TokenScript } from '../helpers/hostile-op.js'
import { twoProviders } from '../helpers/two-providers.js'

const HTML = { accept: 'text/html,application/xhtml+xml' }

/** A login to `returnTo` whose code exchange gets `answer`; returns the callback URL. */
async function failedLogin (t: Test, answer: TokenScript, returnTo = '/orders?id=7&x=<b>'): Promise<{ attack: Attack, callback: URL }> {
  const attack = await startAttack(t, { app: { httpTimeout: 1000 } })
  scriptToken(attack, () => answer)
  const callback = await reachCallback(attack, attack.browser, `/auth/login?returnTo=${encodeURIComponent(returnTo)}`)
  return { attack, callback }
}

// The returnTo as the login kept it (normalized: `<` and `>` percent-encoded).
const freshLogin = `/auth/login?returnTo=${encodeURIComponent('/orders?id=7&x=%3Cb%3E')}`

for (const [status, answer] of [[502, { status: 500, body: { error: 'server_error' } }], [504, { delayMs: 4000 }]] as const) {
  t.test(`${status}: the page links to a fresh login to the same returnTo; a reload goes there once, then 400`, async (t) => {
    const { attack, callback } = await failedLogin(t, answer)
    const first = await hitCallback(attack, callback, { headers: HTML })
    t.equal(first.status, status)
    t.match(first.headers.get('content-type'), /^text\/html/)
    t.equal(first.headers.get('retry-after'), '5', 'Retry-After')
    const href = /<a href="([^"]+)">/.exec(first.body)?.[1]
    t.equal(href?.replaceAll('&amp;', '&'), freshLogin, 'a link to a fresh login with the original returnTo')
    t.notOk(first.body.includes('<b>'), 'escaped')

    const reload = await hitCallback(attack, callback, { headers: HTML })
    t.equal(reload.status, 302, 'the first reload is sent on')
    t.equal(reload.headers.get('location'), freshLogin)
    t.same(reload.events.map((e) => [e.type, e.reason]), [['login_failure', 'state_replayed']])

    const again = await hitCallback(attack, callback, { headers: HTML })
    t.equal(again.status, 400, 'the second reload is refused: no loop')
    t.match(again.body, /FST_OIDC_STATE_REPLAYED/)
    t.equal(attack.op.requests('/token').length, 1, 'the code went to the IdP once')

    // The fresh login works, and lands on the original returnTo.
    scriptToken(attack)
    const login = await attack.browser.follow(new URL(freshLogin, attack.baseUrl), { stopAt: (url) => url.pathname === '/auth/callback' })
    await expectLoggedIn(t, attack, await hitCallback(attack, login.stoppedAt!), '/orders?id=7&x=%3Cb%3E')
  })
}

t.test('a JSON client gets the JSON answer; the default provider\'s fresh login names no provider', async (t) => {
  const { attack, callback } = await failedLogin(t, { status: 500, body: { error: 'server_error' } }, '/')
  const first = await hitCallback(attack, callback, { headers: { accept: 'application/json' } })
  t.equal(first.status, 502)
  t.equal(JSON.parse(first.body).code, 'FST_OIDC_IDP_BAD_RESPONSE', 'JSON clients get the JSON answer')
  t.equal(first.headers.get('retry-after'), '5')
  const reload = await hitCallback(attack, callback)
  t.equal(reload.headers.get('location'), '/auth/login?returnTo=%2F')
})

t.test('a callback refused by the IdP (401) or that succeeded is not offered a retry', async (t) => {
  const { attack, callback } = await failedLogin(t, { status: 400, body: { error: 'invalid_grant', error_description: 'no' } })
  const first = await hitCallback(attack, callback, { headers: HTML })
  t.equal(first.status, 401)
  t.notMatch(first.body, /<a href/, 'no link')
  t.equal((await hitCallback(attack, callback, { headers: HTML })).status, 400, 'a reload is a replay')

  scriptToken(attack)
  const ok = await reachCallback(attack)
  await expectLoggedIn(t, attack, await hitCallback(attack, ok))
  const replay = await hitCallback(attack, ok)
  t.equal(replay.status, 400)
  t.equal(JSON.parse(replay.body).code, 'FST_OIDC_STATE_REPLAYED')
})

t.test('a login at another provider than the default: its fresh login names the provider', async (t) => {
  const setup = await twoProviders(t)
  setup.b.onToken = () => ({ status: 500, body: { error: 'server_error' } })
  const browser = new Browser()
  const res = await browser.follow(`${setup.baseUrl}/auth/login?provider=b&returnTo=/x`, { stopAt: (url) => url.pathname.startsWith('/auth/callback') })
  const callback = res.stoppedAt!
  t.equal((await browser.get(callback)).status, 502)
  const reload = await browser.get(callback)
  t.equal(reload.status, 302)
  t.equal(reload.headers.get('location'), '/auth/login?returnTo=%2Fx&provider=b')
})
