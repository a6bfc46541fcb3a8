// Error answers of the plugin's routes: JSON {statusCode, code, error, message}
// or an escaped HTML page for browsers, never cached, and a generic
// FST_OIDC_INTERNAL for unexpected failures (no stack, no internal message).
import t from 'tap'
import Fastify, { type FastifyError } from 'fastify'
import type { Session } from 'fastify'
import { MemoryStore, OidcSessionStoreError } from '../../lib/index.js'
import { oidcErrorHandler } from '../../lib/routes/error-handler.js'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

const INTERNAL = 'redis connection refused at 10.1.2.3:6379 password=s3cr3t'

/** A store whose reads can be made to fail, as a broken Redis would. */
class FlakyStore extends MemoryStore {
  failing = false
  override get (sessionId: string, callback: (err: unknown, session?: Session | null) => void): void {
    if (this.failing) callback(new Error(INTERNAL))
    else super.get(sessionId, callback)
  }
}

const op = await startHostileOp(t)
const store = new FlakyStore()
const port = await freePort()
const { baseUrl, logs } = await buildApp(t, { port, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret ?? undefined, sessionStore: store })
const PROVIDER = '<img src=x onerror="alert(1)">&\''

t.test('a plugin error answers JSON with its status and stable code, not cached', async (t) => {
  const res = await fetch(`${baseUrl}/auth/login?provider=${encodeURIComponent(PROVIDER)}`, { headers: { accept: 'application/json' } })
  t.equal(res.status, 400)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.same(await res.json(), {
    statusCode: 400,
    code: 'FST_OIDC_UNKNOWN_PROVIDER',
    error: 'Bad Request',
    message: 'Unknown provider: not a provider name'
  })

  const repeated = await fetch(`${baseUrl}/auth/login?provider=a&provider=b`)
  t.equal(repeated.status, 400)
  t.match(await repeated.json(), { code: 'FST_OIDC_UNKNOWN_PROVIDER', message: 'Unknown provider: several values' })

  const callback = await fetch(`${baseUrl}/auth/callback?code=abc`)
  t.equal(callback.status, 400)
  t.equal(callback.headers.get('cache-control'), 'no-store')
  t.match(await callback.json(), { statusCode: 400, code: 'FST_OIDC_STATE_MISSING', error: 'Bad Request' })
})

t.test('a browser gets an escaped HTML page', async (t) => {
  const res = await fetch(`${baseUrl}/auth/login?provider=${encodeURIComponent(PROVIDER)}`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
  t.equal(res.status, 400)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
  const html = await res.text()
  t.match(html, /<title>Bad Request<\/title>/)
  t.match(html, /<code>FST_OIDC_UNKNOWN_PROVIDER<\/code>/)
  t.notMatch(html, /<img|onerror|alert/, 'nothing of the hostile name reaches the page')
  const plain = await fetch(`${baseUrl}/auth/login?provider=okta`, { headers: { accept: 'text/html' } })
  t.match(await plain.text(), '<p>Unknown provider: okta</p>', 'a plain name is echoed')
  t.notOk(html.includes('<img'), 'no injected markup')
})

t.test('a Fastify error of the plugin routes keeps its 4xx status and code', async (t) => {
  const res = await fetch(`${baseUrl}/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"broken' })
  t.equal(res.status, 400)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const body = await res.json() as Record<string, unknown>
  t.match(body, { statusCode: 400, error: 'Bad Request', code: /^FST_ERR_/ })
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'])
})

t.test('a failing session store is 503 FST_OIDC_SESSION_STORE_UNAVAILABLE with Retry-After: logged, its detail not shown', async (t) => {
  const browser = new Browser()
  const login = await browser.follow(`${baseUrl}/auth/login?returnTo=/public`)
  t.equal(login.status, 200)
  t.same(JSON.parse(login.body), { authenticated: true })
  store.failing = true
  t.teardown(() => { store.failing = false })

  const json = await browser.get(`${baseUrl}/auth/session`, { accept: 'application/json' })
  t.equal(json.status, 503)
  t.equal(json.headers.get('cache-control'), 'no-store')
  t.equal(json.headers.get('retry-after'), '5')
  t.same(JSON.parse(json.body), { statusCode: 503, code: 'FST_OIDC_SESSION_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'The session store is unavailable' })

  const html = await browser.get(`${baseUrl}/auth/session`, { accept: 'text/html' })
  t.equal(html.status, 503)
  t.match(html.body, /<title>Service Unavailable<\/title>/)
  t.match(html.body, /<code>FST_OIDC_SESSION_STORE_UNAVAILABLE<\/code>/)

  for (const body of [json.body, html.body]) {
    t.notOk(body.includes('10.1.2.3') || body.includes('s3cr3t'), 'no internal message')
    t.notMatch(body, /stack|\bat .*\.(js|ts):\d+/, 'no stack')
  }
  const logged = logs.map((line) => JSON.parse(line) as { msg?: string, level: number })
    .filter((entry) => entry.msg === 'oidc route failed')
  t.equal(logged.length, 2, 'each failure is logged')
  t.equal(logged[0]?.level, 50, 'at error level')
})

t.test('oidcErrorHandler: status and code fallbacks for foreign errors', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.setErrorHandler(oidcErrorHandler)
  const fail = (props: Partial<FastifyError>) => async () => { throw Object.assign(new Error('foreign detail'), props) }
  app.get('/no-code-4xx', fail({ statusCode: 499 }))
  app.get('/odd-5xx', fail({ statusCode: 599, code: 'ERR_SOMETHING' }))
  app.get('/not-an-error-status', fail({ statusCode: 302 }))
  app.get('/unexpected', async () => { throw new Error(INTERNAL) })

  const noCode = await app.inject('/no-code-4xx')
  t.equal(noCode.statusCode, 499)
  t.same(noCode.json(), { statusCode: 499, code: 'FST_OIDC_ERROR', error: 'Error', message: 'foreign detail' })

  const odd = await app.inject({ url: '/odd-5xx', headers: { accept: 'text/html' } })
  t.equal(odd.statusCode, 599)
  t.match(odd.body, /<title>Error<\/title>/)
  t.match(odd.body, /<code>FST_OIDC_INTERNAL<\/code>/)
  t.notMatch(odd.body, /foreign detail|ERR_SOMETHING/)

  const unexpected = await app.inject('/unexpected')
  t.equal(unexpected.statusCode, 500)
  t.same(unexpected.json(), { statusCode: 500, code: 'FST_OIDC_INTERNAL', error: 'Internal Server Error', message: 'Internal error' }, 'a generic answer: no internal message')

  const status = await app.inject('/not-an-error-status')
  t.equal(status.statusCode, 500, 'a non-error status becomes 500')
  t.same(status.json(), { statusCode: 500, code: 'FST_OIDC_INTERNAL', error: 'Internal Server Error', message: 'Internal error' })
})

t.test('the app\'s own routes: Retry-After only for an error that says when to retry', async (t) => {
  const { baseUrl } = await buildApp(t, {
    port: await freePort(),
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret ?? undefined,
    routes: (app) => {
      app.get('/plain-failure', async () => { throw new Error('plain') })
      app.get('/store-failure', async () => { throw new OidcSessionStoreError() })
    }
  })
  const plain = await fetch(`${baseUrl}/plain-failure`)
  t.equal(plain.status, 500)
  t.equal(plain.headers.get('retry-after'), null, 'an error without a code: no Retry-After')
  const store = await fetch(`${baseUrl}/store-failure`)
  t.equal(store.status, 503)
  t.equal(store.headers.get('retry-after'), '5')
})
