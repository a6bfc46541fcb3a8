// The default session store: bounded (LRU eviction), expiring at the
// session cookie's expiry, and never keeping an already-expired session.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Session } from 'fastify'
import { MemoryStore } from '../../lib/index.js'

/** A session as @fastify/session hands it to a store. */
function session (name: string, expires?: Date | null): Session {
  return { name, cookie: { expires: expires ?? null } } as unknown as Session
}

async function set (store: MemoryStore, id: string, value: Session): Promise<void> {
  await new Promise<void>((resolve, reject) => store.set(id, value, (err) => err ? reject(err) : resolve()))
}

async function get (store: MemoryStore, id: string): Promise<Session | null | undefined> {
  return await new Promise((resolve, reject) => store.get(id, (err, value) => err ? reject(err) : resolve(value)))
}

async function destroy (store: MemoryStore, id: string): Promise<void> {
  await new Promise<void>((resolve, reject) => store.destroy(id, (err) => err ? reject(err) : resolve()))
}

t.test('set, get, destroy', async (t) => {
  const store = new MemoryStore()
  const a = session('a')
  await set(store, 'id-a', a)
  t.same(await get(store, 'id-a'), a)
  t.not(await get(store, 'id-a'), a, 'a snapshot is kept, not the live object')
  t.equal(await get(store, 'unknown'), null, 'an unknown id answers null, no error')
  t.equal(store.size, 1)
  await destroy(store, 'id-a')
  t.equal(await get(store, 'id-a'), null)
  t.equal(store.size, 0)
  await destroy(store, 'id-a')
  t.pass('destroying an unknown id is fine')
})

t.test('bounded: beyond max the least recently used session is evicted', async (t) => {
  const store = new MemoryStore({ max: 2 })
  await set(store, 'a', session('a'))
  await set(store, 'b', session('b'))
  t.ok(await get(store, 'a'), 'a is now the most recently used')
  await set(store, 'c', session('c'))
  t.equal(store.size, 2)
  t.equal(await get(store, 'b'), null, 'b (least recently used) was evicted')
  t.ok(await get(store, 'a'))
  t.ok(await get(store, 'c'))
  await set(store, 'a', session('a2'))
  t.equal(store.size, 2, 'overwriting does not grow the store')
  t.match(await get(store, 'a'), { name: 'a2' })
})

t.test('an entry expires at its cookie expiry', async (t) => {
  const store = new MemoryStore({ ttl: 60_000 })
  await set(store, 'short', session('short', new Date(Date.now() + 80)))
  await set(store, 'long', session('long', new Date(Date.now() + 60_000)))
  t.ok(await get(store, 'short'), 'alive before its expiry')
  await sleep(150)
  t.equal(await get(store, 'short'), null, 'gone after its cookie expiry, although the store ttl is longer')
  t.ok(await get(store, 'long'))
})

t.test('without a cookie expiry, the store ttl applies', async (t) => {
  const store = new MemoryStore({ ttl: 80 })
  await set(store, 'no-expiry', session('no-expiry'))
  t.ok(await get(store, 'no-expiry'))
  await sleep(150)
  t.equal(await get(store, 'no-expiry'), null)
})

t.test('a session whose cookie already expired is not kept', async (t) => {
  const store = new MemoryStore()
  await set(store, 'past', session('past', new Date(Date.now() - 1000)))
  t.equal(await get(store, 'past'), null)
  t.equal(store.size, 0)
  await set(store, 'x', session('x', new Date(Date.now() + 60_000)))
  t.ok(await get(store, 'x'))
  await set(store, 'x', session('x', new Date(Date.now() - 1)))
  t.equal(await get(store, 'x'), null, 'saving it again expired removes the old copy')
  t.equal(store.size, 0)
})

t.test('a snapshot: later changes to the live session and its request are not kept', async (t) => {
  const store = new MemoryStore()
  const live = session('a') as unknown as Record<string | symbol, unknown>
  live[Symbol('request')] = { socket: 'a live socket' }
  await set(store, 'id', live as unknown as Session)
  live['name'] = 'changed after save'
  const stored = await get(store, 'id') as unknown as Record<string | symbol, unknown>
  t.equal(stored['name'], 'a', 'the saved value, not the later change')
  t.same(Object.getOwnPropertySymbols(stored), [], 'no reference to the request')
})

t.test('throttle counters: the window starts with the first increment; taking back from a counter that is gone starts nothing', async (t) => {
  const store = new MemoryStore()
  t.same(await store.count('gone', -1, 60_000), { count: 0, resetMs: 0 }, 'nothing to take back from')
  t.same(await store.count('user', 1, 60_000), { count: 1, resetMs: 60_000 }, 'the window started')
  t.equal((await store.count('user', 1, 60_000)).count, 2)
  t.equal((await store.count('user', -1, 60_000)).count, 1, 'taken back')
  t.same(await store.count('gone', -1, 60_000), { count: 0, resetMs: 0 }, 'still nothing for the other key')
})
