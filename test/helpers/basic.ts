// Delegated authentication for the Basic tests: a users table with scrypt
// password hashes compared in constant time (what the README recommends), an
// app whose routes accept Basic, and raw requests with any Authorization.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { OidcAuditEvent, OidcAuthenticate, OidcBasicUser } from '../../lib/index.js'
import { buildApp, type BuildAppOptions, type TestApp } from './build-app.js'
import { startHostileOp } from './hostile-op.js'
import { freePort, type Teardownable } from './provider.js'

interface Row {
  salt: Buffer
  hash: Buffer
  roles: string[]
  services?: string[]
}

/** A users table keyed by username, with scrypt hashes. */
export function usersTable (users: Record<string, { password: string, roles: string[], services?: string[] }>): Map<string, Row> {
  return new Map(Object.entries(users).map(([name, { password, roles, services }]) => {
    const salt = randomBytes(16)
    return [name, { salt, hash: scryptSync(password, salt, 32), roles, ...(services === undefined ? {} : { services }) }]
  }))
}

/**
 * `authenticate` over the table: unknown users and wrong passwords alike are
 * `null` (a dummy hash is computed for unknown users, so timing tells nothing);
 * a user limited to `services` is known only on routes whose config `service` is one.
 */
export function authenticateWith (table: Map<string, Row>): OidcAuthenticate {
  const dummy = { salt: randomBytes(16), hash: randomBytes(32) }
  return (username: string, password: string, request: FastifyRequest): OidcBasicUser | null => {
    const row = table.get(username)
    const candidate = scryptSync(password, (row ?? dummy).salt, 32)
    if (row === undefined || !timingSafeEqual(candidate, row.hash)) return null
    const service = (request.routeOptions.config as { service?: string }).service
    if (row.services !== undefined && (service === undefined || !row.services.includes(service))) return null
    return { sub: `user:${username}`, roles: row.roles, claims: { name: username } }
  }
}

export const USERS = {
  alice: { password: 'correct horse:battery:staple', roles: ['user'] },
  jürgen: { password: 'pässwörd-ünïcode', roles: ['user', 'admin'] },
  stockbot: { password: 'stock-only-secret', roles: ['robot'], services: ['stock'] }
}

/** `Basic base64(user:password)` of UTF-8 text. */
export function basic (username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`
}

export interface BasicApp extends TestApp {
  /** GET `path` with these headers: status, JSON body, headers. */
  call: (path: string, headers?: Record<string, string>) => Promise<{ status: number, body: any, headers: Headers }>
}

/** Routes: /basic (basic only, GET and POST), /both (session or basic), /admin (basic, role admin), /stock (config service 'stock'), /scoped (a scope). */
function basicRoutes (app: FastifyInstance): void {
  const who = async (request: FastifyRequest): Promise<unknown> => ({ via: request.oidc.via, sub: request.oidc.user?.sub, roles: request.oidc.roles, name: request.oidc.user?.['name'] })
  app.get('/basic', { preHandler: app.requireAuth({ accept: ['basic'] }) }, who)
  app.post('/basic', { preHandler: app.requireAuth({ accept: ['basic'] }) }, who)
  app.get('/both', { preHandler: app.requireAuth({ accept: ['session', 'basic'] }) }, who)
  app.get('/admin', { preHandler: app.requireAuth({ accept: ['basic'], roles: ['admin'] }) }, who)
  app.get('/stock', { config: { service: 'stock' }, preHandler: app.requireAuth({ accept: ['basic'] }) }, who)
  app.get('/scoped', { preHandler: app.requireAuth({ accept: ['basic'], scopes: ['stock:read'] }) }, who)
  // What else request.oidc says about a Basic caller: no token, nothing to forward.
  app.get('/details', { preHandler: app.requireAuth({ accept: ['basic'] }) }, async (request) => {
    const codeOf = async (action: () => Promise<unknown>): Promise<unknown> => await action().then(() => 'resolved', (err: { code: string }) => err.code)
    return {
      scopes: request.oidc.scopes,
      expiresAt: request.oidc.expiresAt,
      authenticated: request.oidc.isAuthenticated(),
      accessToken: await codeOf(async () => await request.oidc.accessToken()),
      fetch: await codeOf(async () => await request.oidc.fetch('http://127.0.0.1:9/')),
      headers: await request.oidc.forwardHeaders(),
      headersForUrl: await codeOf(async () => await request.oidc.forwardHeaders('http://127.0.0.1:9/'))
    }
  })
}

export async function startBasicApp (t: Teardownable, options: Partial<BuildAppOptions> = {}, events: OidcAuditEvent[] = []): Promise<BasicApp> {
  const op = await startHostileOp(t)
  const app = await buildApp(t, {
    port: await freePort(),
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    authenticate: authenticateWith(usersTable(USERS)),
    routes: basicRoutes,
    onAudit: (event) => { events.push(event) },
    ...options
  })
  const call = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any, headers: Headers }> => {
    const res = await fetch(`${app.baseUrl}${path}`, { headers: { accept: 'application/json', ...headers } })
    return { status: res.status, body: await res.json(), headers: res.headers }
  }
  return { ...app, events, call }
}
