// The session store fails while a refreshed token set is being saved (e.g. Redis
// is down): the refresh fails with a 503 FST_OIDC_SESSION_STORE_UNAVAILABLE that
// holds no token, a refresh_failure event with reason session_store_error is
// recorded, and the session is not ended: once the store is back, the user is
// still logged in.
import type { Session } from 'fastify'
import t from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { expectLoggedIn, expectNoLeak, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'

/** A MemoryStore whose writes fail while `down` is true. */
class FlakyStore extends MemoryStore {
  down = false
  override set (sessionId: string, session: Session, callback: (err?: unknown) => void): void {
    if (this.down) {
      callback(new Error('session store unavailable'))
      return
    }
    super.set(sessionId, session, callback)
  }
}

t.test('a store failure while saving a refresh: 503, refresh_failure (session_store_error), the session survives', async (t) => {
  const store = new FlakyStore()
  const attack = await startAttack(t, { app: { sessionStore: store } })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))

  store.down = true
  const res = await attack.browser.post(`${attack.baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_SESSION_STORE_UNAVAILABLE')
  t.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After')
  expectNoLeak(t, attack, [res])
  t.equal(attack.op.requests('/token').filter((r) => r.body['grant_type'] === 'refresh_token').length, 1, 'the IdP granted the refresh')
  t.same(attack.events.slice(1).map((e) => [e.type, e.reason, e.sub]), [['refresh_failure', 'session_store_error', 'alice']])
  t.ok(attack.logs.some((l) => l.includes('session store unavailable')), 'the store error is logged')

  store.down = false
  const later = await attack.browser.get(`${attack.baseUrl}/private`, { accept: 'application/json' })
  t.equal(later.status, 200, 'the session was not ended')
  t.same(JSON.parse(later.body), { sub: 'alice', roles: ['user'] })
})
