// The shape of a token response. At login, a refresh_token or id_token that is not
// a string, or an expires_in that is not a number (a numeric string is accepted),
// is an unusable answer: 502 FST_OIDC_IDP_BAD_RESPONSE. At refresh, an answer
// without refresh_token or id_token keeps the ones the session already holds.
import t from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'

const broken: Array<{ name: string, change: Record<string, unknown> }> = [
  { name: 'a numeric refresh_token', change: { refresh_token: 42 } },
  { name: 'an object id_token', change: { id_token: { alg: 'none' } } },
  { name: 'expires_in that is not a number', change: { expires_in: 'soon' } },
  { name: 'expires_in null', change: { expires_in: null } },
  { name: 'expires_in Infinity (as a string)', change: { expires_in: 'Infinity' } }
]

for (const { name, change } of broken) {
  t.test(`login: ${name} -> 502 FST_OIDC_IDP_BAD_RESPONSE`, async (t) => {
    const attack = await startAttack(t)
    scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), ...change } }))
    const res = await hitCallback(attack, await reachCallback(attack))
    await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  })
}

t.test('login: expires_in as a numeric string is accepted', async (t) => {
  const attack = await startAttack(t)
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), expires_in: '120' } }))
  const before = Math.floor(Date.now() / 1000)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const { expiresAt } = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { expiresAt: number }
  t.ok(expiresAt >= before + 120 && expiresAt <= before + 122, `expiresAt ${expiresAt - before} s from now`)
})

t.test('login: no expires_in -> no known expiry, and no refresh', async (t) => {
  const attack = await startAttack(t, { app: { refreshLeeway: 3600 } })
  scriptToken(attack, async (ctx) => {
    const body = await ctx.defaultBody()
    delete body['expires_in']
    return { body }
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  t.equal(JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body).expiresAt, null)
  t.equal((await attack.browser.get(`${attack.baseUrl}/private`, { accept: 'application/json' })).status, 200)
  t.equal(attack.op.requests('/token').length, 1, 'never refreshed')
})

t.test('refresh: an answer without refresh_token and id_token keeps both', async (t) => {
  const attack = await startAttack(t)
  let loginRefreshToken: string | undefined
  let loginIdToken: string | undefined
  scriptToken(attack, async (ctx) => {
    const body = await ctx.defaultBody()
    if (ctx.grantType === 'authorization_code') {
      loginRefreshToken = body['refresh_token'] as string
      loginIdToken = body['id_token'] as string
      return { body }
    }
    delete body['refresh_token']
    delete body['id_token']
    return { body }
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  for (let i = 0; i < 2; i++) {
    const res = await attack.browser.post(`${attack.baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
    t.equal(res.status, 200, `refresh ${i + 1}`)
  }
  const sent = attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').map((r) => r.body['refresh_token'])
  t.same(sent, [loginRefreshToken, loginRefreshToken], 'both refreshes used the refresh token of the login')

  const logout = await attack.browser.get(`${attack.baseUrl}/auth/logout`)
  t.equal(new URL(logout.headers.get('location')!).searchParams.get('id_token_hint'), loginIdToken, 'the ID token of the login is still the logout hint')
})
