// An IdP that cannot be reached, or answers no metadata, when an app starts
// (issue 11 point 8, issue 12 point 5): oidcResourceServer and the relying
// party's bearer path both start, discover in the background (one attempt at a
// time, backing off) and answer 503 with Retry-After in between without calling
// the IdP; a permanent error (404, not JSON) is logged as a configuration
// problem at every retry and answered as a misconfigured app, not "try again".
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { oidcResourceServer } from '../../lib/index.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { API_AUDIENCE, signAccessToken } from '../helpers/resource-server.js'

const discoveries = (op: HostileOp): number => op.requests('/.well-known/openid-configuration').length

/** An oidcResourceServer app on a loopback port, its log lines kept. */
async function resourceServer (t: Test, issuer: string): Promise<{ url: string, logs: string[] }> {
  const logs: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { logs.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(oidcResourceServer, { env: {}, issuer, audience: API_AUDIENCE, httpTimeout: 500 })
  app.get('/api', { preHandler: app.requireBearer() }, async (request) => ({ sub: request.oidc.user?.sub }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, logs }
}

/** `count` requests, 10 at a time; resolves to the answers' status and code. */
async function burst (url: string, token: string, count: number): Promise<Array<{ status: number, code: string, retryAfter: string | null }>> {
  const answers: Array<{ status: number, code: string, retryAfter: string | null }> = []
  for (let i = 0; i < count; i += 10) {
    answers.push(...await Promise.all(Array.from({ length: 10 }, async () => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })
      const body = await res.json() as { code?: string }
      return { status: res.status, code: body.code ?? '', retryAfter: res.headers.get('retry-after') }
    })))
  }
  return answers
}

/** Calls until the answer is 200, at most `seconds` (the background retry backs off up to 30 s). */
async function until200 (url: string, token: string, seconds = 45): Promise<boolean> {
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline;) {
    if ((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status === 200) return true
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return false
}

t.test('oidcResourceServer starts with its IdP unreachable, answers 503 without calling it, and verifies once it is back', async (t) => {
  const op = await startHostileOp(t)
  const token = await signAccessToken(op)
  await op.stop()
  const api = await resourceServer(t, op.issuer)
  const down = await burst(`${api.url}/api`, token, 20)
  t.ok(down.every((a) => a.status === 503 && a.code === 'FST_OIDC_VERIFIER_UNAVAILABLE' && /^[1-9]\d*$/.test(a.retryAfter ?? '')), 'every token: 503 with Retry-After')
  t.match(api.logs.join('\n'), /could not be fetched: ECONNREFUSED/, 'the cause is logged')
})

t.test('oidcResourceServer: 300 tokens while the IdP answers 503 reach it once or a few times, then it recovers', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 503, body: 'starting' })
  const token = await signAccessToken(op)
  const api = await resourceServer(t, op.issuer)
  const down = await burst(`${api.url}/api`, token, 300)
  t.ok(down.every((a) => a.status === 503 && a.code === 'FST_OIDC_VERIFIER_UNAVAILABLE' && a.retryAfter !== null))
  // Back-off (1 s, 2 s, 4 s…): a handful of attempts however long the burst takes, never one per request.
  t.ok(discoveries(op) <= 12, `the IdP was asked ${discoveries(op)} times, not once per request`)
  op.onDiscovery = undefined
  t.ok(await until200(`${api.url}/api`, token), 'discovered in the background')
  t.equal(op.requests('/jwks').length, 1)
})

t.test('the relying party\'s bearer path: 300 tokens while the IdP is down make 1 to a few discovery calls', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 503, body: 'starting' })
  const routes = (app: FastifyInstance): void => {
    app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
  }
  const app = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, resourceServer: { audience: API_AUDIENCE }, routes })
  const token = await signAccessToken(op)
  const before = discoveries(op)
  const down = await burst(`${app.baseUrl}/api`, token, 300)
  t.ok(down.every((a) => a.status === 503 && a.code === 'FST_OIDC_VERIFIER_UNAVAILABLE' && a.retryAfter !== null), 'every token: 503 with Retry-After')
  // The provider's own discovery and the bearer path's each back off (1 s, 2 s, 4 s…): a handful, never one per request.
  t.ok(discoveries(op) - before <= 12, `the IdP was asked ${discoveries(op) - before} times for 300 tokens`)
  op.onDiscovery = undefined
  t.ok(await until200(`${app.baseUrl}/api`, token), 'verified once the IdP is back')
})

t.test('a 404 at the discovery URL: logged as a configuration problem at every retry, answered as a misconfigured app', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 404, body: { error: 'Realm does not exist' } })
  const app = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })

  const json = await fetch(`${app.baseUrl}/auth/login`, { redirect: 'manual', headers: { accept: 'application/json' } })
  t.equal(json.status, 503)
  t.match(json.headers.get('retry-after'), /^[1-9]\d*$/)
  t.match(await json.json(), { code: 'FST_OIDC_PROVIDER_MISCONFIGURED', message: /misconfigured/ })
  t.same(app.events.map((e) => [e.type, e.reason]), [['login_failure', 'provider_misconfigured']])

  const page = await fetch(`${app.baseUrl}/auth/login`, { redirect: 'manual', headers: { accept: 'text/html' } })
  t.equal(page.status, 503)
  const html = await page.text()
  t.match(html, /this application is misconfigured/)
  t.notMatch(html, /try again/i, 'the user is not told to wait')
  t.notMatch(html, /well-known/, 'the IdP\'s URL stays in the log')

  // A retry after 1 s: the same configuration problem, logged again with the next delay.
  const retries = (): string[] => app.logs.filter((l) => l.includes('is misconfigured') && l.includes('retrying discovery') && l.includes('"level":50'))
  for (const deadline = Date.now() + 10_000; retries().length < 2 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 100))
  const lines = retries()
  t.ok(lines.length >= 2, 'logged at error level at every try')
  t.match(lines[0], /answered HTTP 404 \(check the issuer URL.*retrying discovery in 1 s/)
  t.match(lines[1], /retrying discovery in 2 s/)
})

t.test('oidcResourceServer: metadata that is not JSON is answered as a misconfiguration, with Retry-After', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ body: '<html>login</html>', headers: { 'content-type': 'text/html' } })
  const api = await resourceServer(t, op.issuer)
  const [answer] = await burst(`${api.url}/api`, await signAccessToken(op), 10)
  t.match(answer, { status: 503, code: 'FST_OIDC_PROVIDER_MISCONFIGURED' })
  t.match(answer!.retryAfter, /^[1-9]\d*$/)
  t.match(api.logs.join('\n'), /did not return an OpenID Provider metadata document/)
})
