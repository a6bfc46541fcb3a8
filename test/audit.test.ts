// Audit events: an `onAudit` that throws changes no answer (the error is logged and
// the event is still logged), and the events of a session carry the ID token's
// `sid` when the IdP sends one (login, refresh, logout).
import t from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, startAttack } from './helpers/attack.js'

interface LogLine { level: number, msg: string, err?: { message?: string }, audit?: { type?: string, sub?: string } }

t.test('an onAudit that throws does not change the answer; the error is logged', async (t) => {
  let calls = 0
  const attack = await startAttack(t, {
    app: {
      onAudit: () => {
        calls++
        throw new Error('audit sink is down')
      }
    }
  })
  const res = await hitCallback(attack, await reachCallback(attack))
  t.equal(res.status, 302, 'the callback still redirects')
  t.equal(res.headers.get('location'), '/')
  const session = JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body) as { authenticated: boolean }
  t.equal(session.authenticated, true, 'the login succeeded')
  t.equal(calls, 1, 'onAudit was called for the login')

  const logout = await attack.browser.get(`${attack.baseUrl}/auth/logout`)
  t.equal(logout.status, 302, 'logout still redirects')
  t.equal(calls, 2, 'onAudit was called for the logout')

  const lines = attack.logs.map((l) => JSON.parse(l) as LogLine)
  const thrown = lines.filter((l) => l.msg === 'oidc audit: onAudit threw')
  t.equal(thrown.length, 2, 'each throw is logged')
  t.ok(thrown.every((l) => l.level === 50 && l.err?.message === 'audit sink is down'), 'at error level, with the error')
  t.same(lines.filter((l) => l.audit !== undefined).map((l) => [l.msg, l.audit?.sub]), [['oidc audit: login', 'alice'], ['oidc audit: logout', 'alice']],
    'the events themselves are still logged')
})

t.test('login, refresh and logout events carry the ID token\'s sid', async (t) => {
  const attack = await startAttack(t)
  attack.op.user = { ...attack.op.user, sid: 'op-session-42' }
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const refresh = await attack.browser.post(`${attack.baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  t.equal(refresh.status, 200, 'refreshed')
  const logout = await attack.browser.get(`${attack.baseUrl}/auth/logout`)
  t.equal(logout.status, 302)
  t.same(attack.events.map((e) => [e.type, e.sub, e.sid]), [
    ['login', 'alice', 'op-session-42'],
    ['refresh', 'alice', 'op-session-42'],
    ['logout', 'alice', 'op-session-42']
  ])
})

t.test('without a sid claim the events have no sid field', async (t) => {
  const attack = await startAttack(t)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  await attack.browser.get(`${attack.baseUrl}/auth/logout`)
  t.same(attack.events.map((e) => [e.type, 'sid' in e]), [['login', false], ['logout', false]])
})
