// A session whose sealed token set no longer opens (corrupted in the store, or
// a sealed value copied from another session: it is bound to its session id) is
// anonymous, never a 500: the request gets 401 / `authenticated: false`, the
// store entry is destroyed and the session cookie is cleared.
import type { Session } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { expectLoggedIn, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'
import { Browser, type BrowserResponse } from '../helpers/browser.js'

/** The plugin's memory store, with the id of the last session written, readable and writable by the test. */
class OpenStore extends MemoryStore {
  lastId: string | undefined

  override set (sessionId: string, session: Session, callback: (err?: unknown) => void): void {
    this.lastId = sessionId
    super.set(sessionId, session, callback)
  }

  async read (id: string): Promise<Session | null> {
    return await new Promise((resolve, reject) => this.get(id, (err, value) => err ? reject(err) : resolve(value ?? null)))
  }

  async write (id: string, value: Session): Promise<void> {
    await new Promise<void>((resolve, reject) => super.set(id, value, (err) => err ? reject(err) : resolve()))
  }
}

type StoredOidc = { oidc: { sealed: string } }

async function setup (t: Test): Promise<{ attack: Attack, store: OpenStore }> {
  const store = new OpenStore()
  const attack = await startAttack(t, { app: { sessionStore: store } })
  return { attack, store }
}

/** Logs `browser` in; answers the id of its session in the store. */
async function login (t: Test, attack: Attack, store: OpenStore, browser: Browser): Promise<string> {
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack, browser), { browser }))
  t.ok(store.lastId, 'the login wrote a session')
  return store.lastId!
}

function clearsSessionCookie (res: BrowserResponse): boolean {
  return res.headers.getSetCookie().some((c) => c.startsWith('oidc.sid=') && (/;\s*max-age=0\b/i.test(c) || /;\s*expires=Thu, 01 Jan 1970/i.test(c)))
}

async function expectDropped (t: Test, attack: Attack, store: OpenStore, browser: Browser, id: string): Promise<void> {
  const session = await browser.get(`${attack.baseUrl}/auth/session`)
  t.equal(session.status, 200, '/auth/session answers 200, not 500')
  t.same(JSON.parse(session.body), { authenticated: false, user: null, expiresAt: null }, 'anonymous')
  t.ok(clearsSessionCookie(session), 'the session cookie is cleared')
  t.equal(await store.read(id), null, 'the store entry is destroyed')
  t.equal((await browser.cookies(attack.baseUrl))['oidc.sid'], undefined, 'the browser no longer holds a session cookie')
}

t.test('a corrupted sealed value: anonymous, the store entry destroyed, the cookie cleared', async (t) => {
  const { attack, store } = await setup(t)
  const id = await login(t, attack, store, attack.browser)
  const stored = await store.read(id) as unknown as StoredOidc
  t.type(stored.oidc.sealed, 'string', 'the session holds a sealed value')
  await store.write(id, { ...stored, oidc: { ...stored.oidc, sealed: 'garbage.not.a.jwe' } } as unknown as Session)

  await expectDropped(t, attack, store, attack.browser, id)
})

t.test('a corrupted sealed value on a guarded API call: 401 FST_OIDC_UNAUTHENTICATED and the cookie cleared', async (t) => {
  const { attack, store } = await setup(t)
  const id = await login(t, attack, store, attack.browser)
  const stored = await store.read(id) as unknown as StoredOidc
  const sealed = stored.oidc.sealed
  await store.write(id, { ...stored, oidc: { ...stored.oidc, sealed: sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA') } } as unknown as Session)

  const res = await attack.browser.get(`${attack.baseUrl}/private`, { accept: 'application/json' })
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_UNAUTHENTICATED')
  t.ok(clearsSessionCookie(res), 'the session cookie is cleared')
  t.equal(await store.read(id), null, 'the store entry is destroyed')
})

t.test('a sealed value copied from another session does not open there; the other session is untouched', async (t) => {
  const { attack, store } = await setup(t)
  const first = new Browser()
  const second = new Browser()
  const firstId = await login(t, attack, store, first)
  const secondId = await login(t, attack, store, second)
  t.not(firstId, secondId)
  const firstStored = await store.read(firstId) as unknown as StoredOidc
  const secondStored = await store.read(secondId) as unknown as StoredOidc
  await store.write(secondId, { ...secondStored, oidc: firstStored.oidc } as unknown as Session)

  await expectDropped(t, attack, store, second, secondId)
  const session = JSON.parse((await first.get(`${attack.baseUrl}/auth/session`)).body) as { authenticated: boolean }
  t.equal(session.authenticated, true, 'the session the value was copied from still works')
})
