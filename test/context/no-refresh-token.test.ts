// An IdP that issues no refresh token (Google without offline_access, say): the
// session lives its whole lifetime; once the access token is due for a refresh,
// requireAuth still admits the session, and only asking for the access token
// answers 401 FST_OIDC_NO_REFRESH_TOKEN (reason no_refresh_token) — without any
// call to the IdP and without ending the session.
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'

async function loggedInWithoutRefreshToken (t: Test, refreshLeeway: number): Promise<Attack> {
  const attack = await startAttack(t, { app: { refreshLeeway } })
  scriptToken(attack, async (ctx) => {
    const body = await ctx.defaultBody()
    delete body['refresh_token']
    return { body }
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

const tokenRequests = (attack: Attack): number => attack.op.requests('/token').length

t.test('a fresh access token: the session works', async (t) => {
  const attack = await loggedInWithoutRefreshToken(t, 30)
  t.equal((await attack.browser.get(`${attack.baseUrl}/private`, { accept: 'application/json' })).status, 200)
  t.equal(tokenRequests(attack), 1, 'only the code exchange')
})

t.test('an access token due for a refresh: the session stays, the guard lets it in, accessToken() says why it cannot', async (t) => {
  const attack = await loggedInWithoutRefreshToken(t, 600)
  const res = await attack.browser.get(`${attack.baseUrl}/private`, { accept: 'application/json' })
  t.equal(res.status, 200, 'the session (not the access token) is what requireAuth checks')
  const token = await attack.browser.get(`${attack.baseUrl}/token`, { accept: 'application/json' })
  t.equal(token.status, 401)
  t.equal(JSON.parse(token.body).code, 'FST_OIDC_NO_REFRESH_TOKEN')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [['refresh_failure', 'no_refresh_token']])
  t.equal(tokenRequests(attack), 1, 'no refresh grant was sent')
  t.equal(JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body).authenticated, true, 'the session is not ended')
})

t.test('an access token due for a refresh: a browser navigation is served', async (t) => {
  const attack = await loggedInWithoutRefreshToken(t, 600)
  const res = await attack.browser.get(`${attack.baseUrl}/private`, { accept: 'text/html' })
  t.equal(res.status, 200)
  t.equal(tokenRequests(attack), 1)
})

t.test('POST /auth/refresh -> 401 FST_OIDC_NO_REFRESH_TOKEN, the session stays', async (t) => {
  const attack = await loggedInWithoutRefreshToken(t, 30)
  const res = await attack.browser.post(`${attack.baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_NO_REFRESH_TOKEN')
  t.equal(tokenRequests(attack), 1, 'no refresh grant was sent')
  t.equal(JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body).authenticated, true)
})
