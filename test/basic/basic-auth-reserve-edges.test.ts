// Issue 11.1, the edges of reserving Basic tries: parallel successes only wait
// for a slot and hand it back, a try that waits too long for
// a slot held by tries in flight, and a failure whose window ended while
// authenticate() ran.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { OidcAuthenticate } from '../../lib/index.js'
import { authenticateWith, basic, startBasicApp, USERS, usersTable } from '../helpers/basic.js'
import { redisStore, uniquePrefix } from '../helpers/redis.js'

/** The test users' authenticate, a little slow (as a real password hash is), counting its calls. */
function countingAuthenticate (): { authenticate: OidcAuthenticate, calls: () => number } {
  const inner = authenticateWith(usersTable(USERS))
  let calls = 0
  const authenticate: OidcAuthenticate = async (username, password, request) => {
    calls++
    await sleep(20)
    return await inner(username, password, request)
  }
  return { authenticate, calls: () => calls }
}

for (const storeName of ['memory', 'redis']) {
  t.test(`${storeName}: successes hand their reservation back`, async (t) => {
    const { authenticate, calls } = countingAuthenticate()
    const app = await startBasicApp(t, {
      authenticate,
      basicMaxFailures: 3,
      basicFailureWindow: 60,
      ...(storeName === 'redis' ? { sessionStore: redisStore(t, uniquePrefix()) } : {})
    })
    const right = basic('alice', USERS.alice.password)
    const answers = await Promise.all(Array.from({ length: 20 }, async () => (await app.call('/basic', { authorization: right })).status))
    t.same(new Set(answers), new Set([200]), '20 parallel right logins all pass')
    for (let i = 0; i < 2; i++) t.equal((await app.call('/basic', { authorization: basic('alice', 'guess') })).status, 401)
    t.equal((await app.call('/basic', { authorization: right })).status, 200, 'two failures and a success: still allowed')
    t.equal((await app.call('/basic', { authorization: basic('alice', 'guess') })).status, 401, 'the third failure')
    t.equal((await app.call('/basic', { authorization: right })).status, 429, 'then throttled')
    t.equal(calls(), 20 + 2 + 1 + 1)
  })
}

t.test('a try that waits for a slot longer than 5 s: 429 with Retry-After 1', async (t) => {
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  const inner = authenticateWith(usersTable(USERS))
  const app = await startBasicApp(t, {
    basicMaxFailures: 1,
    basicFailureWindow: 60,
    authenticate: async (username, password, request) => {
      await gate
      return await inner(username, password, request)
    }
  })
  const first = app.call('/basic', { authorization: basic('alice', USERS.alice.password) })
  const second = await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })
  t.equal(second.status, 429)
  t.equal(second.headers.get('retry-after'), '1')
  open()
  t.equal((await first).status, 200)
  t.equal((await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })).status, 200, 'the slot is free again')
})

t.test('a failure whose window ended while authenticate() ran counts in the next window', async (t) => {
  const inner = authenticateWith(usersTable(USERS))
  let slow = true
  const app = await startBasicApp(t, {
    basicMaxFailures: 1,
    basicFailureWindow: 1,
    authenticate: async (username, password, request) => {
      if (slow) await sleep(1200)
      return await inner(username, password, request)
    }
  })
  t.equal((await app.call('/basic', { authorization: basic('alice', 'guess') })).status, 401)
  slow = false
  t.equal((await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })).status, 429, 'the failure counts')
})
