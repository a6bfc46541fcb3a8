// Callbacks an attacker can craft by hand: no query string at all, or a state that
// could never have been issued (too short, too long, characters outside base64url).
// Each is a 400 without any call to the IdP, and the victim's own pending login is
// left intact (its transaction cookie is neither read nor cleared).
import t from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, opCalls, reachCallback, startAttack } from '../helpers/attack.js'

t.test('GET /auth/callback with no query string -> 400 FST_OIDC_STATE_MISSING; its log line keeps the bare path', async (t) => {
  const attack = await startAttack(t)
  const res = await hitCallback(attack, `${attack.baseUrl}/auth/callback`)
  await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_MISSING', reason: 'state_missing' })
  t.same(opCalls(attack.op), [], 'the IdP saw nothing')
  const incoming = attack.logs.map((l) => JSON.parse(l) as { msg?: string, req?: { url?: string } })
    .filter((l) => l.msg === 'incoming request' && l.req?.url?.startsWith('/auth/callback') === true)
  t.same(incoming.map((l) => l.req?.url), ['/auth/callback'], 'logged as /auth/callback (nothing to redact)')
})

const badStates = [
  { name: 'that is too short', state: 'abc' },
  { name: 'that is too long', state: 'a'.repeat(129) },
  { name: 'with a dot (cookie-name games)', state: `${'a'.repeat(30)}.x` },
  { name: 'with a semicolon and an equals sign', state: `${'a'.repeat(30)};oidc.sid=x` },
  { name: 'with a space', state: `${'a'.repeat(30)} b` }
]

for (const { name, state } of badStates) {
  t.test(`a state ${name} -> 400 FST_OIDC_STATE_MISMATCH; the pending login still completes`, async (t) => {
    const attack = await startAttack(t)
    const callback = await reachCallback(attack) // the victim's own login, in progress
    const forged = new URL(callback)
    forged.searchParams.set('state', state)
    const res = await hitCallback(attack, forged)
    await expectRejected(t, attack, res, { status: 400, code: 'FST_OIDC_STATE_MISMATCH', reason: 'state_mismatch' })
    t.same(res.headers.getSetCookie().filter((c) => c.startsWith('oidc.tx.')), [], 'no transaction cookie touched')
    t.same(opCalls(attack.op), ['GET /authorize'], 'no code exchange')

    await expectLoggedIn(t, attack, await hitCallback(attack, callback))
  })
}
