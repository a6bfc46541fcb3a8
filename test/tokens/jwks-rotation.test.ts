// Signing-key rotation at the IdP: an ID token with a kid the app has not cached makes
// it refetch the JWKS once and the login succeeds; unknown kids right after are
// refused without refetching (at most one refetch per 30 s cooldown), so forged
// tokens cannot make the app hammer the IdP.
import t from 'tap'
import type { Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { expectLoggedIn, expectRejected, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'
import { generateOpKey } from '../helpers/hostile-op.js'
import type { OpKey } from '../helpers/hostile-op.js'

/**
 * The JWKS refetch cooldown is measured with Date.now(): move this process's wall
 * clock forward (the app's and the in-process OP's alike; timers are untouched)
 * instead of sleeping for half a minute. Restored when the test ends.
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

/** A whole login in a fresh browser; `key` signs the ID token (default: the OP's current key). */
async function login (attack: Attack, key?: OpKey): Promise<CallbackAnswer> {
  scriptToken(attack, key === undefined ? undefined : async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign(ctx.defaultClaims(), { key }) } }))
  const browser = new Browser()
  return await hitCallback(attack, await reachCallback(attack, browser), { browser })
}

const jwksFetches = (attack: Attack): number => attack.op.requests('/jwks').length

t.test('key rotation: one JWKS refetch for the new kid, then unknown kids are refused without refetching', async (t) => {
  const attack = await startAttack(t)
  const old = attack.op.keys.rsa

  await expectLoggedIn(t, attack, await login(attack))
  const cached = jwksFetches(attack)
  t.ok(cached >= 1, 'the JWKS was fetched for the first login')
  await expectLoggedIn(t, attack, await login(attack))
  t.equal(jwksFetches(attack), cached, 'a known kid is served from the cache')

  advanceClock(t, 31_000)
  const fresh = await attack.op.rotateKeys()
  t.not(fresh.kid, old.kid)
  const rotated = await login(attack)
  await expectLoggedIn(t, attack, rotated)
  t.equal(jwksFetches(attack), cached + 1, 'the new kid made the app refetch the JWKS once')

  for (let i = 0; i < 3; i++) {
    const res = await login(attack, await generateOpKey('RS256'))
    await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_signature' })
  }
  t.equal(jwksFetches(attack), cached + 1, 'unknown kids right after a refetch do not refetch')

  const retired = await login(attack, old)
  await expectRejected(t, attack, retired, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_signature' })
  t.equal(jwksFetches(attack), cached + 1, 'the retired key is gone from the refetched set and is not looked up again')

  await expectLoggedIn(t, attack, await login(attack))
  t.equal(jwksFetches(attack), cached + 1, 'the new key is cached')

  advanceClock(t, 31_000)
  const later = await login(attack, await generateOpKey('RS256'))
  await expectRejected(t, attack, later, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_signature' })
  t.equal(jwksFetches(attack), cached + 2, 'after the cooldown an unknown kid may refetch once more')
})

t.test('keys published ahead of use (keepOld): the old and the new key both verify', async (t) => {
  const attack = await startAttack(t)
  const old = attack.op.keys.rsa
  await expectLoggedIn(t, attack, await login(attack))
  advanceClock(t, 31_000)
  await attack.op.rotateKeys({ keepOld: true })
  await expectLoggedIn(t, attack, await login(attack))
  const afterRefetch = jwksFetches(attack)
  await expectLoggedIn(t, attack, await login(attack, old))
  t.equal(jwksFetches(attack), afterRefetch, 'the old key is still in the cached set')
})
