// Issue 11.1: a parallel burst of wrong guesses for one user must not get past
// the throttle. Each try is reserved before authenticate() runs, atomically in
// the memory store and in Redis (one script), so 100 parallel guesses reach
// authenticate() at most basicMaxFailures times.
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
  t.test(`${storeName}: 100 parallel wrong guesses for one user reach authenticate() at most 5 times`, async (t) => {
    const { authenticate, calls } = countingAuthenticate()
    const app = await startBasicApp(t, {
      authenticate,
      basicMaxFailures: 5,
      basicFailureWindow: 60,
      ...(storeName === 'redis' ? { sessionStore: redisStore(t, uniquePrefix()) } : {})
    })
    const answers = await Promise.all(Array.from({ length: 100 }, async (_, i) =>
      (await app.call('/basic', { authorization: basic('alice', `guess-${i}`) })).status))
    t.ok(calls() <= 5, `authenticate() ran ${calls()} times`)
    t.equal(answers.filter((s) => s === 401).length, calls(), 'a 401 for each guess judged')
    t.equal(answers.filter((s) => s === 429).length, 100 - calls(), '429 for the rest')
    t.equal((await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })).status, 429, 'the right password waits too')
  })
}

t.test('an authenticate that throws hands its reservation back (an outage of the user table burns no budget)', async (t) => {
  let down = true
  const inner = authenticateWith(usersTable(USERS))
  const app = await startBasicApp(t, {
    basicMaxFailures: 2,
    basicFailureWindow: 60,
    authenticate: async (username, password, request) => {
      if (down) throw new Error('user table unreachable')
      return await inner(username, password, request)
    }
  })
  for (let i = 0; i < 4; i++) t.equal((await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })).status, 503)
  down = false
  t.equal((await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })).status, 200)
})
