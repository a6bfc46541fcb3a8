// Introspection under load: concurrent requests with the same token share one
// call to the IdP (single flight), a refused token is remembered for a few
// seconds (a flood of the same junk costs the IdP one call), an unavailable
// endpoint is never remembered, and a non-OK answer's body is cancelled
// rather than left holding the connection open.
import { createServer, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { API_AUDIENCE, buildResourceServer, startIntrospectionEndpoint, viewOf, type ResourceServerApp } from '../helpers/resource-server.js'
import type { OidcResourceServerOptions } from '../../lib/index.js'

const opaque = (): string => randomBytes(24).toString('base64url')

interface LocalEndpoint {
  url: string
  /** The tokens received, in order. */
  calls: string[]
}

/** An introspection endpoint whose answers are written by `respond` (possibly never finished). */
async function startLocalEndpoint (t: Test, respond: (res: ServerResponse) => void): Promise<LocalEndpoint> {
  const calls: string[] = []
  const server = createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { raw += chunk })
    req.on('end', () => {
      calls.push(new URLSearchParams(raw).get('token') ?? '')
      respond(res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls }
}

function apiOptions (url: string, options: Partial<OidcResourceServerOptions> = {}): OidcResourceServerOptions {
  return { issuer: url, audience: API_AUDIENCE, jwksUri: `${url}/jwks`, introspectionEndpoint: `${url}/introspect`, clientId: 'api', clientSecret: 'secret', ...options }
}

async function call (api: ResourceServerApp, token: string, path = '/api'): Promise<{ status: number, body: Record<string, unknown>, challenge: string | null }> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown>, challenge: res.headers.get('www-authenticate') }
}

t.test('concurrent requests with the same token share one introspection call', async (t) => {
  const N = 8
  let arrived = 0
  let allArrived!: () => void
  const everyoneWaits = new Promise<void>((resolve) => { allArrived = resolve })
  const answer = JSON.stringify({ active: true, sub: 'alice', aud: API_AUDIENCE, scope: 'api:read' })
  // The IdP answers only once every request has reached the guard: they all overlap.
  const endpoint = await startLocalEndpoint(t, (res) => {
    everyoneWaits.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end(answer), () => {})
  })
  const routes = (app: FastifyInstance): void => {
    const arrive = async (): Promise<void> => { if (++arrived === N) allArrived() }
    app.get('/api', { preHandler: [arrive, app.requireBearer()] }, async (request) => viewOf(request.oidc))
  }
  const api = await buildResourceServer(t, { ...apiOptions(endpoint.url), routes })
  const token = opaque()
  const results = await Promise.all(Array.from({ length: N }, async () => await call(api, token)))
  t.same(results.map((r) => r.status), Array(N).fill(200))
  t.equal(endpoint.calls.length, 1, 'one call to the IdP for all of them')
  t.ok(results.every((r) => (r.body['user'] as { sub: string }).sub === 'alice'))
})

t.test('a refused token is remembered briefly: the same junk twice costs one call', async (t) => {
  const endpoint = await startIntrospectionEndpoint(t)
  const api = await buildResourceServer(t, apiOptions(endpoint.url))
  endpoint.answer = () => ({ body: { active: false } })
  const junk = opaque()
  const first = await call(api, junk)
  const second = await call(api, junk)
  t.same([first.status, second.status], [401, 401])
  t.equal(second.body['code'], 'FST_OIDC_TOKEN_INVALID')
  t.equal(second.challenge, first.challenge, 'the same refusal')
  t.match(second.challenge, /error="invalid_token", error_description="[^"]*not active"/)
  t.equal(endpoint.calls.length, 1, 'the second request did not reach the IdP')

  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: 'https://other.example.test' } })
  const wrongAudience = opaque()
  t.equal((await call(api, wrongAudience)).status, 401)
  t.equal((await call(api, wrongAudience)).status, 401)
  t.equal(endpoint.calls.length, 2, 'an active answer refused for its aud is remembered too')
  t.equal((await call(api, opaque())).status, 401)
  t.equal(endpoint.calls.length, 3, 'another token is introspected')
})

t.test('an unavailable endpoint is not remembered: the next request asks again', async (t) => {
  const endpoint = await startIntrospectionEndpoint(t)
  const api = await buildResourceServer(t, apiOptions(endpoint.url))
  endpoint.answer = () => ({ status: 500, body: { error: 'server_error' } })
  const token = opaque()
  t.equal((await call(api, token)).status, 503)
  endpoint.answer = () => ({ body: { active: true, sub: 'alice', aud: API_AUDIENCE } })
  t.equal((await call(api, token)).status, 200)
  t.equal(endpoint.calls.length, 2)
})

t.test('an introspection cache TTL of 0 remembers no refusal either', async (t) => {
  const endpoint = await startIntrospectionEndpoint(t)
  const api = await buildResourceServer(t, apiOptions(endpoint.url, { introspectionCacheTtl: 0 }))
  endpoint.answer = () => ({ body: { active: false } })
  const junk = opaque()
  t.equal((await call(api, junk)).status, 401)
  t.equal((await call(api, junk)).status, 401)
  t.equal(endpoint.calls.length, 2)
})

t.test('a non-OK answer\'s body is cancelled: the connection to the IdP is closed, not left open', async (t) => {
  let closed!: () => void
  const connectionClosed = new Promise<string>((resolve) => { closed = () => resolve('closed') })
  // A 500 whose body never ends: only the API giving up on it frees the connection.
  const endpoint = await startLocalEndpoint(t, (res) => {
    res.on('close', () => closed())
    res.writeHead(500, { 'content-type': 'application/json' }).write('{"error":"server_error",')
  })
  // A time-out far beyond the wait below: the fetch's own abort cannot be what closes it.
  const api = await buildResourceServer(t, apiOptions(endpoint.url, { httpTimeout: 60_000 }))
  const res = await call(api, opaque())
  t.equal(res.status, 503)
  t.equal(res.body['code'], 'FST_OIDC_VERIFIER_UNAVAILABLE')
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([connectionClosed, new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still open'), 5000) })])
  clearTimeout(timer)
  t.equal(outcome, 'closed', 'the API cancelled the body')
})
