// A Redis-backed store the app hands in is ready before the app serves:
// register() waits (bounded) for a RedisStore built on the app's own client,
// even one made with lazyConnect, so the first request after start-up opens
// the session instead of answering 503 ("Stream isn't writeable"). A store
// whose Redis does not answer lets the app start and answers 503 with
// Retry-After, never 500.
import { Redis } from 'ioredis'
import t from 'tap'
import { RedisStore } from '../../lib/index.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'
import { REDIS_URL, redisStore, uniquePrefix } from '../helpers/redis.js'

t.test('the first request after register() on a store built on a lazyConnect client opens the session', async (t) => {
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}` })
  const prefix = uniquePrefix()
  const common = { issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret }
  const a = await buildApp(t, { ...common, port: portA, sessionStore: redisStore(t, prefix) })
  const browser = new Browser()
  await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/private`)

  const client = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false })
  t.teardown(() => client.disconnect())
  const b = await buildApp(t, { ...common, port: portB, sessionStore: new RedisStore({ client, prefix }) })
  t.equal(client.status, 'ready', 'connected at register()')
  const first = await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })
  t.equal(first.status, 200, 'the first request on B opens the session made on A')
})

t.test('a handed-in store whose Redis does not answer: the app starts, requests answer 503 with Retry-After', async (t) => {
  const deadPort = await freePort()
  const client = new Redis({ host: '127.0.0.1', port: deadPort, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 200 })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: new RedisStore({ client }) })
  t.equal((await fetch(`${app.baseUrl}/public`)).status, 200, 'started; anonymous pages work')
  const callback = await loginAtProvider(new Browser(), `${app.baseUrl}/auth/login?returnTo=/private`)
  t.equal(callback.status, 503, 'a login needing the store: 503')
  t.ok(Number(callback.headers.get('retry-after')) > 0, 'with Retry-After')
  t.equal(JSON.parse(callback.body).code, 'FST_OIDC_SESSION_STORE_UNAVAILABLE')
})
