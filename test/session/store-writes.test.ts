// What a request writes to the session store (issue 15): a login writes its
// session once (no empty session written first, no destroy of a session that
// was never stored); a guarded request that changes nothing writes nothing and
// sets no cookie; a login over an existing session still destroys it.
import type { Session } from 'fastify'
import t from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { generateSessionId } from '../../lib/session/session-id.js'
import { TombstoneStore } from '../../lib/session/tombstones.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider, type Teardownable } from '../helpers/provider.js'

type Callback = (err?: unknown) => void

/** The plugin's own memory store, remembering every write. */
class RecordingStore extends MemoryStore {
  readonly sets: Array<{ id: string, keys: string[] }> = []
  readonly destroys: string[] = []

  override set (sessionId: string, session: Session, callback: Callback): void {
    this.sets.push({ id: sessionId, keys: Object.keys(session) })
    super.set(sessionId, session, callback)
  }

  override destroy (sessionId: string, callback: Callback): void {
    this.destroys.push(sessionId)
    super.destroy(sessionId, callback)
  }
}

async function setup (t: Teardownable): Promise<{ baseUrl: string, store: RecordingStore }> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const store = new RecordingStore()
  const { baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store })
  return { baseUrl, store }
}

const JSON_ACCEPT = { accept: 'application/json' }

t.jobs = 2

t.test('a first login writes its session once; guarded requests that change nothing write nothing', async (t) => {
  const { baseUrl, store } = await setup(t)
  const browser = new Browser()
  t.equal((await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)).status, 200)
  t.equal(store.sets.length, 1, 'one session write')
  t.ok(store.sets[0]!.keys.includes('oidc'), 'the full session, sealed token set included')
  t.same(store.destroys, [], 'nothing destroyed: the browser had no session')

  for (let i = 0; i < 5; i++) {
    const answer = await browser.get(`${baseUrl}/private`, JSON_ACCEPT)
    t.equal(answer.status, 200)
    t.same(answer.headers.getSetCookie(), [], 'no cookie set again')
  }
  t.equal(store.sets.length, 1, 'no write for five read-only requests')
  t.same(store.destroys, [])
})

t.test('a login over an existing session destroys it and writes the new one once', async (t) => {
  const { baseUrl, store } = await setup(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  const firstId = store.sets[0]!.id
  const firstCookie = (await browser.cookies(baseUrl))['oidc.sid']!
  await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(store.sets.length, 2, 'one write per login')
  t.not(store.sets[1]!.id, firstId, 'a new session id')
  t.same(store.destroys, [firstId], 'the old session destroyed')
  const old = await fetch(`${baseUrl}/private`, { headers: { accept: 'application/json', cookie: `oidc.sid=${firstCookie}` } })
  t.equal(old.status, 401, 'the old cookie authenticates nothing')
})

t.test('skipEmpty: only an empty session and a destroy are skipped for the ids given, until released', async (t) => {
  const inner = new RecordingStore()
  const store = new TombstoneStore(inner, 60_000)
  const write = async (id: string, session: object): Promise<void> => { await new Promise((resolve) => store.set(id, session as Session, resolve)) }
  store.skipEmpty(['fresh'])
  await write('fresh', { cookie: {} })
  t.same(inner.sets, [], 'an empty session under a fresh id is not written')
  await write('fresh', { cookie: {}, cart: [1] })
  t.same(inner.sets.map((s) => s.id), ['fresh'], 'a session with data is')
  await store.remove('fresh')
  t.same(inner.destroys, [], 'a fresh id is not destroyed')
  store.release(['fresh'])
  await write('other', { cookie: {} })
  await store.remove('fresh')
  t.same(inner.sets.map((s) => s.id), ['fresh', 'other'], 'other ids are written empty')
  t.same(inner.destroys, ['fresh'], 'a released id is destroyed')
})

t.test('session ids: 24 random bytes in base64url, never the same (also past a pool of 128)', async (t) => {
  const ids = Array.from({ length: 300 }, () => generateSessionId())
  t.ok(ids.every((id) => /^[\w-]{32}$/.test(id)), '32 base64url characters')
  t.equal(new Set(ids).size, ids.length, 'all different')
})
