// The session store fails while a login is being saved (Redis down): the callback
// answers 503 FST_OIDC_SESSION_STORE_UNAVAILABLE — never a 500, never a token in
// the answer — with a login_failure (reason session_store_error), no `login`
// event and no session cookie. Once the store is back, a new login works.
import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'
import t from 'tap'
import { expectLoggedIn, expectNoLeak, expectRejected, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'

/** A minimal @fastify/session store (a Map) whose writes fail while `down` is true. */
class BrokenStore implements SessionStore {
  readonly sessions = new Map<string, string>()
  down = true
  writes = 0

  set (sessionId: string, session: Session, callback: (err?: unknown) => void): void {
    this.writes++
    if (this.down) {
      callback(new Error('connect ECONNREFUSED 10.0.0.7:6379'))
      return
    }
    this.sessions.set(sessionId, JSON.stringify(session))
    callback()
  }

  get (sessionId: string, callback: (err: unknown, result?: Session | null) => void): void {
    const raw = this.sessions.get(sessionId)
    callback(null, raw === undefined ? null : JSON.parse(raw) as Session)
  }

  destroy (sessionId: string, callback: (err?: unknown) => void): void {
    this.sessions.delete(sessionId)
    callback()
  }
}

t.test('the store refuses the login\'s session: 503, login_failure (session_store_error), no session', async (t) => {
  const store = new BrokenStore()
  const attack = await startAttack(t, { app: { sessionStore: store } })
  const res = await hitCallback(attack, await reachCallback(attack), { headers: { accept: 'application/json' } })
  await expectRejected(t, attack, res, { status: 503, code: 'FST_OIDC_SESSION_STORE_UNAVAILABLE', reason: 'session_store_error' })
  t.ok(store.writes >= 1, 'the store was asked to save the session')
  t.equal(store.sessions.size, 0, 'nothing was stored')
  t.equal(attack.op.requests('/token').length, 1, 'the code was exchanged (the failure came after)')
  t.notOk(res.body.includes('ECONNREFUSED'), 'the store\'s error is not in the answer')
  t.notOk(attack.events.some((e) => e.type === 'login'), 'no login event')
  t.ok(attack.logs.some((l) => l.includes('ECONNREFUSED')), 'the store\'s error is logged for the operator')
})

t.test('an HTML page for a browser: 503 with the code, escaped, nothing secret', async (t) => {
  const store = new BrokenStore()
  const attack = await startAttack(t, { app: { sessionStore: store } })
  const res = await hitCallback(attack, await reachCallback(attack), { headers: { accept: 'text/html' } })
  t.equal(res.status, 503)
  t.match(res.headers.get('content-type'), /^text\/html/)
  t.match(res.body, /FST_OIDC_SESSION_STORE_UNAVAILABLE/)
  t.same(res.events.map((e) => [e.type, e.reason]), [['login_failure', 'session_store_error']])
  expectNoLeak(t, attack, [res])
})

t.test('once the store is back, a new login works', async (t) => {
  const store = new BrokenStore()
  const attack = await startAttack(t, { app: { sessionStore: store } })
  t.equal((await hitCallback(attack, await reachCallback(attack))).status, 503)
  store.down = false
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  t.equal(store.sessions.size, 1, 'one session stored')
})
