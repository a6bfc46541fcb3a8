// Back-channel logout needs a session store that can find sessions by sid/sub
// and remember used `jti`s. A custom store with only @fastify/session's
// get/set/destroy keeps sessions working, but the route answers 501
// FST_OIDC_BACKCHANNEL_UNSUPPORTED (and ends nothing); a capable store that
// fails answers 503 with Retry-After, never 500.
import type { Session } from 'fastify'
import type { SessionStore } from '@fastify/session'
import t from 'tap'
import type { Test } from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { SessionIndex } from '../../lib/session/session-index.js'
import { hitCallback, reachCallback, startAttack, type Attack } from '../helpers/attack.js'
import { SESSION_SECRET } from '../helpers/build-app.js'
import { randomToken } from '../helpers/hostile-op.js'

const EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** The smallest store @fastify/session accepts: get, set and destroy over a Map. */
function minimalStore (): SessionStore {
  const sessions = new Map<string, string>()
  return {
    get: (id, callback) => {
      const json = sessions.get(id)
      callback(null, json === undefined ? null : JSON.parse(json) as Session)
    },
    set: (id, session, callback) => {
      sessions.set(id, JSON.stringify(session))
      callback()
    },
    destroy: (id, callback) => {
      sessions.delete(id)
      callback()
    }
  }
}

/** The hostile OP, the app on `sessionStore`, and alice (sid op-sid-1) logged in. */
async function loggedIn (t: Test, sessionStore: SessionStore): Promise<Attack> {
  const attack = await startAttack(t, { app: { sessionStore } })
  attack.op.user = { ...attack.op.user, sid: 'op-sid-1' }
  const login = await hitCallback(attack, await reachCallback(attack))
  t.equal(login.status, 302, 'logged in')
  return attack
}

async function alive (attack: Attack): Promise<boolean> {
  return (await attack.browser.get(`${attack.baseUrl}/private`, { accept: 'application/json' })).status === 200
}

/** POSTs a valid logout token for alice's IdP session. */
async function postLogout (attack: Attack): Promise<Response> {
  const now = Math.floor(Date.now() / 1000)
  const token = await attack.op.signIdToken({
    iss: attack.op.issuer, aud: attack.op.clientId, iat: now, exp: now + 120, jti: randomToken(), events: { [EVENT]: {} }, sub: 'alice', sid: 'op-sid-1'
  }, { typ: 'logout+jwt' })
  return await fetch(`${attack.baseUrl}/auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token })
  })
}

t.test('a custom store with only get/set/destroy: sessions work, back-channel logout answers 501', async (t) => {
  const attack = await loggedIn(t, minimalStore())
  t.ok(await alive(attack), 'the session works')

  const mark = attack.events.length
  const res = await postLogout(attack)
  t.equal(res.status, 501)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(await res.json(), { statusCode: 501, code: 'FST_OIDC_BACKCHANNEL_UNSUPPORTED' })
  t.same(attack.events.slice(mark).map((e) => [e.type, e.reason]), [['backchannel_logout_failure', 'backchannel_unsupported']])
  t.ok(await alive(attack), 'nothing was ended')
  t.equal(attack.op.requests('/jwks').length, 1, 'the token was not even verified (the JWKS was fetched once, at login)')
})

t.test('the session index of such a store links nothing and finds nothing', async (t) => {
  const index = new SessionIndex([SESSION_SECRET], minimalStore(), 'https://op.example', 60_000)
  t.equal(index.supported, false)
  await index.link('session-1', { sid: 'op-sid-1', sub: 'alice' })
  t.same(await index.find({ sid: 'op-sid-1', sub: 'alice' }), [])
  t.same(await index.find({ sub: 'alice' }), [])
})

t.test('a capable store that fails: 503 with Retry-After, never 500, and the session is kept', async (t) => {
  class FailingReplayCache extends MemoryStore {
    failing = false
    override async claimOnce (key: string, ttlMs: number): Promise<boolean> {
      if (this.failing) throw new Error('store down')
      return await super.claimOnce(key, ttlMs)
    }
  }
  const store = new FailingReplayCache()
  const attack = await loggedIn(t, store)
  store.failing = true
  const mark = attack.events.length
  const res = await postLogout(attack)
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '5')
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(await res.json(), { statusCode: 503, code: 'FST_OIDC_SESSION_STORE_UNAVAILABLE' })
  t.same(attack.events.slice(mark).map((e) => [e.type, e.reason]), [['backchannel_logout_failure', 'session_store_error']])
  t.ok(await alive(attack), 'the session was not ended')
  t.notOk(attack.logs.join('\n').includes('"statusCode":500'), 'no 500 logged')

  // Back up: the same IdP session is ended by its next logout token.
  store.failing = false
  t.equal((await postLogout(attack)).status, 200)
  t.notOk(await alive(attack), 'ended once the store is back')
})
