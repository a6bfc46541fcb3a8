// The Redis session store with a real Redis: a dump after login shows no
// token, claim value or e-mail; a sealed value copied under another session id
// does not open; OIDC_SESSION_STORE=redis://… works; a secret rotation deployed
// to two instances keeps sessions and re-seals them; Redis down -> 503 with
// Retry-After, never a 500, and service comes back by itself.
import { sign } from '@fastify/cookie'
import { decodeProtectedHeader } from 'jose'
import t from 'tap'
import { RedisStore } from '../../lib/index.js'
import { cookieSigningSecrets, deriveKeys } from '../../lib/session/keys.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, SESSION_SECRET } from '../helpers/build-app.js'
import { recordIssuedTokens } from '../helpers/issued-tokens.js'
import { freePort, startProvider } from '../helpers/provider.js'
import { dump, privateRedis, REDIS_URL, redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'

const USER = 'alice-wonderland-0001'

/** The session id behind the browser's signed cookie. */
function sessionIdOf (cookie: string): string {
  return decodeURIComponent(cookie).replace(/\.[^.]*$/, '')
}

t.test('a Redis dump after login holds no token, claim value or e-mail, and a copied blob does not open', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}`, accounts: { [USER]: { name: 'Alice Wonderland' } } })
  const issued = recordIssuedTokens(idp)
  const prefix = uniquePrefix()
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: redisStore(t, prefix) })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/private`, { login: USER })
  t.same(JSON.parse(login.body), { sub: USER, roles: ['user'] })

  const redis = await redisClient(t)
  const entries = await dump(redis, prefix)
  const everything = [...entries].map(([key, value]) => `${key} ${value}`).join('\n')
  t.ok(entries.size >= 1, `keys after login: ${[...entries.keys()].map((k) => k.slice(prefix.length).split(':')[0]).join(', ')}`)
  const secrets = [issued[0]!.accessToken, issued[0]!.refreshToken!, issued[0]!.idToken!, USER, `${USER}@example.com`, 'Alice Wonderland']
  for (const secret of secrets) t.notOk(everything.includes(secret), `no ${secret.slice(0, 12)}… in Redis`)

  // Copy the sealed session under another id, and present a validly signed cookie for that id.
  const sessionId = sessionIdOf((await browser.cookies(app.baseUrl))['oidc.sid']!)
  const otherId = 'copied-session-id-0123456789abcdef012'
  await redis.set(`${prefix}{${otherId}}:sess`, (await redis.get(`${prefix}{${sessionId}}:sess`))!, 'PX', 60_000)
  const forgedCookie = `oidc.sid=${encodeURIComponent(sign(otherId, cookieSigningSecrets([SESSION_SECRET])[0]!))}`
  const res = await fetch(`${app.baseUrl}/private`, { headers: { cookie: forgedCookie, accept: 'application/json' } })
  t.equal(res.status, 401, 'the sealed value is bound to its session id')
  t.equal((await browser.get(`${app.baseUrl}/private`)).status, 200, 'the real session still works')
})

t.test('OIDC_SESSION_STORE=redis://… from the environment', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, env: { OIDC_SESSION_STORE: REDIS_URL } })
  const browser = new Browser()
  await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/private`)
  const redis = await redisClient(t)
  const sessionId = sessionIdOf((await browser.cookies(app.baseUrl))['oidc.sid']!)
  const ttl = await redis.pttl(`fastify-oidc:{${sessionId}}:sess`)
  t.ok(ttl > 8 * 3600 * 1000 - 60_000 && ttl <= 8 * 3600 * 1000, 'stored under the default prefix, expiring with the session (8 h)')
  await browser.request('POST', `${app.baseUrl}/auth/logout`)
  t.equal(await redis.exists(`fastify-oidc:{${sessionId}}:sess`), 0, 'logout deletes it')
  t.equal(await redis.exists(`fastify-oidc:{${sessionId}}:gone`), 1, 'and leaves a tombstone for every instance')
})

t.test('secret rotation deployed to two instances: the session keeps working and is re-sealed with the new key', async (t) => {
  const OLD = 'old-session-secret-0123456789-abcdefghijklmnop'
  const NEW = 'new-session-secret-0123456789-abcdefghijklmnop'
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}` })
  const prefix = uniquePrefix()
  const start = async (port: number, sessionSecret: string | string[]) => {
    // A store handed in is used as it is: wait for its connection, or the first request may answer 503.
    const sessionStore = redisStore(t, prefix)
    t.equal(await sessionStore.ready(), true, 'the store is connected')
    return await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionSecret, sessionStore })
  }
  const a = await start(portA, OLD)
  const browser = new Browser()
  await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/private`)
  const redis = await redisClient(t)
  const sessionId = sessionIdOf((await browser.cookies(a.baseUrl))['oidc.sid']!)
  const kid = async (): Promise<string | undefined> =>
    decodeProtectedHeader(JSON.parse((await redis.get(`${prefix}{${sessionId}}:sess`))!).oidc.sealed).kid
  t.equal(await kid(), deriveKeys([OLD], 'token-set')[0]!.kid)
  await a.app.close()

  const a2 = await start(portA, [NEW, OLD])
  const b2 = await start(portB, [NEW, OLD])
  t.equal((await browser.get(`${b2.baseUrl}/private`, { accept: 'application/json' })).status, 200, 'B opens the old seal')
  t.equal(await kid(), deriveKeys([NEW], 'token-set')[0]!.kid, 're-sealed with the new key')
  t.equal((await browser.get(`${a2.baseUrl}/private`, { accept: 'application/json' })).status, 200, 'A opens the new seal')
})

t.test('Redis down: 503 with Retry-After (never a 500, never memory); Redis back: works without a restart', async (t) => {
  const redis = await privateRedis(t)
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const tokens = recordIssuedTokens(idp)
  const store = redisStore(t, uniquePrefix(), redis.url)
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store })
  const browser = new Browser()
  await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/private`)
  t.equal((await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })).status, 200)

  await redis.stop()
  const down = await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })
  t.equal(down.status, 503)
  t.equal(JSON.parse(down.body).code, 'FST_OIDC_SESSION_STORE_UNAVAILABLE')
  t.ok(Number(down.headers.get('retry-after')) > 0, 'Retry-After')
  const events = app.events.length
  const callback = await loginAtProvider(new Browser(), `${app.baseUrl}/auth/login?returnTo=/private`)
  t.equal(callback.status, 503, 'a login completing while Redis is down: 503')
  t.ok(app.events.slice(events).some((e) => e.type === 'login_failure' && e.reason === 'session_store_error'), 'login_failure (session_store_error)')
  t.equal((await fetch(`${app.baseUrl}/public`)).status, 200, 'anonymous pages do not need the store')
  const secrets = tokens.flatMap((set) => [set.accessToken, set.refreshToken!, set.idToken!])
  t.equal(secrets.length, 3, 'only the first login was issued tokens: the one completing while Redis is down never redeemed its code')
  t.notOk(app.logs.some((line) => secrets.some((secret) => line.includes(secret))), 'no token logged')

  // The session data is gone with that Redis (it kept nothing on disk): the user logs in again, no restart.
  await redis.start()
  t.equal(await store.ready(5000), true, 'the store reconnected by itself')
  const again = await loginAtProvider(new Browser(), `${app.baseUrl}/auth/login?returnTo=/private`)
  t.equal(again.status, 200, 'service came back by itself')
})

t.test('a RedisStore on the application\'s own ioredis client: used, and not closed by the store', async (t) => {
  const client = await redisClient(t)
  const prefix = uniquePrefix()
  const store = new RedisStore({ client, prefix })
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store })
  const browser = new Browser()
  await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/private`)
  t.equal((await client.keys(`${prefix}{*}:sess`)).length, 1)
  t.equal(await store.ready(), true)
  await store.close()
  t.equal(await client.ping(), 'PONG', 'the application\'s client is still open')

  // A value under a session key that is not a session (another app's, a corruption): anonymous, never a 500.
  const [key] = await client.keys(`${prefix}{*}:sess`)
  for (const value of ['not json', '[1,2]', 'null', '42']) {
    await client.set(key!, value)
    t.equal((await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })).status, 401, JSON.stringify(value))
  }
})

t.test('a RedisStore without a URL connects to 127.0.0.1:6379', async (t) => {
  // The run's Redis may be on another port (one started for the run), so this checks where the client connects.
  const store = new RedisStore({})
  t.teardown(() => store.close())
  t.match(store.client.options, { host: '127.0.0.1', port: 6379 })
})

t.test('a session already expired is deleted, not written', async (t) => {
  const prefix = uniquePrefix()
  const store = redisStore(t, prefix)
  t.equal(await store.ready(), true)
  const redis = await redisClient(t)
  const set = async (expires: Date): Promise<void> => await new Promise((resolve, reject) =>
    store.set('expiring-id', { cookie: { expires } } as never, (err) => err == null ? resolve() : reject(err)))
  await set(new Date(Date.now() + 60_000))
  t.equal(await redis.exists(`${prefix}{expiring-id}:sess`), 1)
  await set(new Date(Date.now() - 1000))
  t.equal(await redis.exists(`${prefix}{expiring-id}:sess`), 0, 'an expired session is removed')
})

t.test('a stored value that is JSON but not a session object reads as no session', async (t) => {
  const prefix = uniquePrefix()
  const store = redisStore(t, prefix)
  t.equal(await store.ready(), true)
  const redis = await redisClient(t)
  const get = async (id: string): Promise<unknown> => await new Promise((resolve, reject) =>
    store.get(id, (err, value) => err == null ? resolve(value) : reject(err)))
  for (const [id, raw] of [['array-id', '[1,2]'], ['null-id', 'null'], ['number-id', '42'], ['text-id', 'not json']]) {
    await redis.set(`${prefix}{${id}}:sess`, raw!)
    t.equal(await get(id!), null, `${raw} is no session`)
  }
})

t.test('throttle counters: the window starts with the first increment; taking back from a counter that is gone starts nothing', async (t) => {
  const prefix = uniquePrefix()
  const store = redisStore(t, prefix)
  t.equal(await store.ready(), true)
  t.same(await store.count('gone', -1, 60_000), { count: 0, resetMs: 0 }, 'nothing to take back from')
  const redis = await redisClient(t)
  t.equal((await redis.keys(`${prefix}*`)).length, 0, 'no key was written')
  const first = await store.count('user', 1, 60_000)
  t.equal(first.count, 1)
  t.ok(first.resetMs > 0 && first.resetMs <= 60_000, 'the window started')
  t.equal((await store.count('user', 1, 60_000)).count, 2)
  t.equal((await store.count('user', -1, 60_000)).count, 1, 'taken back')
})
