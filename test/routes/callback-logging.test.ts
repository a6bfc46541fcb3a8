// Regression: Fastify's "incoming request" log line used to carry the callback's full
// URL, i.e. the authorization code and the state. It keeps the path only.
import t from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'

t.test('the callback request is logged without its query string', async (t) => {
  const attack = await startAttack(t)
  const callback = await reachCallback(attack)
  const code = callback.searchParams.get('code') ?? ''
  const state = callback.searchParams.get('state') ?? ''
  t.ok(code.length > 20 && state.length > 20)
  await expectLoggedIn(t, attack, await hitCallback(attack, callback))

  const lines = attack.logs.map((line) => JSON.parse(line) as { msg?: string, req?: { method?: string, url?: string } })
  const incoming = lines.filter((l) => l.msg === 'incoming request' && l.req?.url?.startsWith('/auth/callback') === true)
  t.equal(incoming.length, 1, 'the callback request is still logged')
  t.same(incoming[0]?.req?.method, 'GET')
  t.equal(incoming[0]?.req?.url, '/auth/callback?[redacted]', 'path kept, query redacted')
  const all = attack.logs.join('\n')
  t.notOk(all.includes(code), 'no authorization code in the logs')
  t.notOk(all.includes(state), 'no state in the logs')
  t.ok(lines.some((l) => l.msg === 'incoming request' && l.req?.url === '/auth/login'), 'other routes are logged as before')
})
