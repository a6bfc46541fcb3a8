// An API protected by oidcResourceServer, listening on a real loopback port,
// plus RFC 9068 access tokens minted by the hostile OP's keys.
import { createServer, request as httpRequest } from 'node:http'
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import type { JWTPayload } from 'jose'
import { oidcResourceServer, type OidcRequestContext, type OidcResourceServerOptions } from '../../lib/index.js'
import type { HostileOp, IdTokenSignOptions } from './hostile-op.js'
import type { Teardownable } from './provider.js'

export const API_AUDIENCE = 'https://api.example.test'

export interface ResourceServerApp {
  app: FastifyInstance
  /** http://127.0.0.1:<port> */
  url: string
  /** Log lines the app wrote (to check that no token is logged). */
  logs: string[]
}

export interface BuildResourceServerOptions extends OidcResourceServerOptions {
  /** Routes to add; default: GET /api (requireBearer) answering request.oidc, and GET /open. */
  routes?: (app: FastifyInstance) => void
  /** Runs before the plugin is registered (e.g. other plugins, an error handler). */
  before?: (app: FastifyInstance) => Promise<void> | void
}

/** What the default routes answer: request.oidc as JSON. */
export interface OidcView {
  authenticated: boolean
  via: string | null
  user: Record<string, unknown> | null
  roles: string[]
  scopes: string[]
  expiresAt: number | null
}

export function viewOf (oidc: OidcRequestContext): OidcView {
  return { authenticated: oidc.isAuthenticated(), via: oidc.via, user: oidc.user, roles: oidc.roles, scopes: oidc.scopes, expiresAt: oidc.expiresAt }
}

/** The API, with `env: {}` unless given (no OIDC_* from the machine). */
export async function buildResourceServer (t: Teardownable, options: BuildResourceServerOptions): Promise<ResourceServerApp> {
  const { routes, before, ...pluginOptions } = options
  const logs: string[] = []
  const app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => { logs.push(line) } } } })
  t.teardown(() => app.close())
  await before?.(app)
  await app.register(oidcResourceServer, { env: {}, ...pluginOptions })
  if (routes === undefined) {
    app.get('/api', { preHandler: app.requireBearer() }, async (request) => viewOf(request.oidc))
    app.get('/open', async (request) => viewOf(request.oidc))
  } else {
    routes(app)
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${port}`, logs }
}

/** Valid RFC 9068 claims from `op` for the test API (sub alice, scope api:read). */
export function accessTokenClaims (op: HostileOp, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: op.issuer,
    sub: 'alice',
    aud: API_AUDIENCE,
    client_id: 'test-client',
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
    scope: 'api:read',
    ...overrides
  }
}

/** A JWT access token signed by `op` (RS256, typ at+jwt unless told otherwise). */
export async function signAccessToken (op: HostileOp, overrides: JWTPayload = {}, opts: IdTokenSignOptions = {}): Promise<string> {
  return await op.signIdToken(accessTokenClaims(op, overrides), { typ: 'at+jwt', ...opts })
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A request through node:http, which can send a header twice (fetch would join them). */
export async function rawRequest (url: string, headers: Record<string, string | string[]>, method = 'GET', body?: string): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

export interface IntrospectionCall {
  headers: Record<string, string | string[] | undefined>
  /** The form parameters received. */
  params: Record<string, string>
}

export interface IntrospectionAnswer {
  status?: number
  /** JSON-encoded unless a string. */
  body?: unknown
  delayMs?: number
  /** Close the connection without answering. */
  destroy?: boolean
}

export interface IntrospectionEndpoint {
  /** http://127.0.0.1:<port> — the endpoint is `${url}/introspect`. */
  url: string
  calls: IntrospectionCall[]
  /** What to answer for a token (default: active, sub alice, aud the test API, scope api:read). */
  answer: (token: string) => IntrospectionAnswer
}

/** A scriptable RFC 7662 endpoint on 127.0.0.1, closed on teardown. */
export async function startIntrospectionEndpoint (t: Teardownable): Promise<IntrospectionEndpoint> {
  const server = createServer()
  const endpoint: IntrospectionEndpoint = {
    url: '',
    calls: [],
    answer: () => ({ body: { active: true, sub: 'alice', aud: API_AUDIENCE, scope: 'api:read', token_type: 'Bearer' } })
  }
  server.on('request', (req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { raw += chunk })
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(raw))
      endpoint.calls.push({ headers: req.headers, params })
      const answer = endpoint.answer(params['token'] ?? '')
      setTimeout(() => {
        if (answer.destroy === true) {
          req.socket.destroy()
          return
        }
        const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {})
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(body)
      }, answer.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  endpoint.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return endpoint
}

/**
 * The API introspecting at `endpoint` (its issuer, its `/jwks` and `/introspect`), as
 * client `api` / `secret` unless `options` say otherwise.
 */
export async function buildIntrospectingServer (t: Teardownable, endpoint: IntrospectionEndpoint, options: BuildResourceServerOptions = {}): Promise<ResourceServerApp> {
  return await buildResourceServer(t, {
    issuer: endpoint.url,
    audience: API_AUDIENCE,
    jwksUri: `${endpoint.url}/jwks`,
    introspectionEndpoint: `${endpoint.url}/introspect`,
    clientId: 'api',
    clientSecret: 'secret',
    ...options
  })
}
