// `expires_in` of a token response (RFC 6749 5.1: a positive lifetime in
// seconds). Zero, a negative number or a string that is not a whole number is an
// unusable answer: at login 502 FST_OIDC_IDP_BAD_RESPONSE (token_error) and no
// session; at refresh the same error, and the session keeps its tokens. A
// numeric string such as "300" is read as that number.
import t from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'

const unusable: unknown[] = [0, -1, -300, '0', '-5', 'abc', '', '300s', '1e3']

for (const value of unusable) {
  t.test(`login: expires_in ${JSON.stringify(value)} -> 502 FST_OIDC_IDP_BAD_RESPONSE, no session`, async (t) => {
    const attack = await startAttack(t)
    scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), expires_in: value } }))
    const res = await hitCallback(attack, await reachCallback(attack))
    await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
  })
}

t.test('login: expires_in "300" is accepted as 300 seconds', async (t) => {
  const attack = await startAttack(t)
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), expires_in: '300' } }))
  const before = Math.floor(Date.now() / 1000)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const { expiresAt } = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { expiresAt: number }
  t.ok(expiresAt >= before + 300 && expiresAt <= before + 302, `expiresAt is ${expiresAt - before} s from the login`)
})

t.test('refresh: expires_in 0 -> 502 FST_OIDC_IDP_BAD_RESPONSE (token_error), the session keeps its tokens', async (t) => {
  const attack = await startAttack(t)
  scriptToken(attack, async (ctx) => ctx.grantType === 'refresh_token' ? { body: { ...await ctx.defaultBody(), expires_in: 0 } } : undefined)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const before = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { expiresAt: number }

  const res = await attack.browser.post(`${attack.baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  t.equal(res.status, 502)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_IDP_BAD_RESPONSE')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason]), [['refresh_failure', 'token_error']])
  const after = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { authenticated: boolean, expiresAt: number }
  t.equal(after.authenticated, true, 'still logged in')
  t.equal(after.expiresAt, before.expiresAt, 'with the expiry of the tokens it had')
})
