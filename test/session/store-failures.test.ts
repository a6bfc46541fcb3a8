// The wrapper @fastify/session's store is wrapped in turns any store failure
// into 503 FST_OIDC_SESSION_STORE_UNAVAILABLE (reason session_store_error) —
// for reads, writes, deletes, and the promise forms the plugin uses itself.
import type { Session } from 'fastify'
import t from 'tap'
import { reasonOf } from '../../lib/idp-errors.js'
import { TombstoneStore } from '../../lib/session/tombstones.js'

const failing = {
  get: (_id: string, cb: (err: unknown) => void) => cb(new Error('connection refused')),
  set: (_id: string, _s: Session, cb: (err?: unknown) => void) => cb(new Error('connection refused')),
  destroy: (_id: string, cb: (err?: unknown) => void) => cb(new Error('connection refused'))
}

t.test('load and remove reject with a 503 carrying the reason, the cause kept for the operator', async (t) => {
  const store = new TombstoneStore(failing, 60_000)
  for (const action of [async () => await store.load('id-1'), async () => await store.remove('id-2')]) {
    const err = await action().then(() => null, (e: unknown) => e) as { code: string, statusCode: number, reason: string, cause: Error }
    t.match(err, { code: 'FST_OIDC_SESSION_STORE_UNAVAILABLE', statusCode: 503, reason: 'session_store_error' })
    t.equal(err.cause.message, 'connection refused')
  }
})

t.test('reasonOf: the reason of a plugin error, else the fallback — also for things thrown that are not errors', async (t) => {
  t.equal(reasonOf(Object.assign(new Error('x'), { reason: 'idp_timeout' }), 'f'), 'idp_timeout')
  t.equal(reasonOf(new Error('x'), 'f'), 'f')
  t.equal(reasonOf(null, 'f'), 'f')
  t.equal(reasonOf(undefined, 'f'), 'f')
  t.equal(reasonOf({ reason: 42 }, 'f'), 'f')
})

t.test('a write of a session with a token set reads the stored one first: a failing read is a 503 and nothing is written', async (t) => {
  let writes = 0
  const readsFail = { ...failing, set: (_id: string, _s: Session, cb: (err?: unknown) => void) => { writes++; cb() } }
  const store = new TombstoneStore(readsFail, 60_000)
  const session = { oidc: { v: 1, sealed: 'x', provider: 'default', gen: 2 } } as unknown as Session
  const err = await new Promise<unknown>((resolve) => store.set('id-3', session, resolve))
  t.match(err, { code: 'FST_OIDC_SESSION_STORE_UNAVAILABLE', reason: 'session_store_error' })
  t.equal(writes, 0, 'nothing written')
  const plain = await new Promise<unknown>((resolve) => store.set('id-4', { cart: [] } as unknown as Session, resolve))
  t.equal(plain, undefined, 'a session without a token set is written without a read')
  t.equal(writes, 1)
})
