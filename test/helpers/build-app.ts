// Builds a Fastify app with the plugin registered, listening on a real loopback
// port (the IdP redirects the browser to it), closed when the test ends.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastifyOidc, { type FastifyOidcOptions, type OidcAuditEvent } from '../../lib/index.js'
import { freePort, type Teardownable } from './provider.js'

export const SESSION_SECRET = 'test-session-secret-0123456789-abcdefghij'

export interface TestApp {
  app: FastifyInstance
  baseUrl: string
  events: OidcAuditEvent[]
  /** Log lines the app wrote (to check nothing secret is logged). */
  logs: string[]
}

export interface BuildAppOptions extends FastifyOidcOptions {
  /** Port to listen on (so the IdP's redirect URI is known in advance). */
  port: number
  /** Extra routes to register after the plugin. */
  routes?: (app: FastifyInstance) => void
  /** Fastify's own `trustProxy` (which client address `request.ip` is). */
  trustProxy?: FastifyServerOptions['trustProxy']
}

/** The app: the plugin plus `/private` (requireAuth) and `/public` routes. */
export async function buildApp (t: Teardownable, options: BuildAppOptions): Promise<TestApp> {
  const { port, routes, trustProxy, ...oidcOptions } = options
  const baseUrl = `http://127.0.0.1:${port}`
  const events: OidcAuditEvent[] = []
  const logs: string[] = []
  const app = Fastify({
    logger: { level: 'debug', stream: { write: (line: string) => { logs.push(line) } } },
    ...(trustProxy === undefined ? {} : { trustProxy })
  })
  t.teardown(() => app.close())
  await app.register(fastifyOidc, {
    baseUrl,
    sessionSecret: SESSION_SECRET,
    env: {},
    onAudit: (event) => { events.push(event) },
    ...oidcOptions
  })
  app.get('/private', { preHandler: app.requireAuth() }, async (request) => ({ sub: request.oidc.user?.sub, roles: request.oidc.roles }))
  app.get('/token', { preHandler: app.requireAuth() }, async (request) => ({ length: (await request.oidc.accessToken()).length }))
  app.get('/public', async (request) => ({ authenticated: request.oidc.isAuthenticated() }))
  routes?.(app)
  await app.listen({ port, host: '127.0.0.1' })
  return { app, baseUrl, events, logs }
}

/**
 * The error `register()` fails with for these options (a base URL on a free port, the
 * test session secret, no env unless given), or undefined when the plugin started.
 */
export async function registerError (t: Teardownable, options: FastifyOidcOptions): Promise<(Error & { code?: string }) | undefined> {
  const app = Fastify()
  t.teardown(() => app.close())
  return await app.register(fastifyOidc, { baseUrl: `http://127.0.0.1:${await freePort()}`, sessionSecret: SESSION_SECRET, env: {}, ...options })
    .ready().then(() => undefined, (e: unknown) => e as Error & { code?: string })
}
