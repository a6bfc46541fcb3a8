// What the orchestrator (bench/run.ts) and a server child (bench/server.ts)
// share: the rows of the benchmark and the settings a server is started with.
// Nothing heavy is imported here: each child loads only its own server module.
import type { JSONWebKeySet } from 'jose'

export type ServerKind =
  | 'bare'
  | 'fastify-session'
  | 'oidc'
  | 'express-oidc'
  | 'secure-session'
  | 'bearer'
  | 'jwt-jwks'
  | 'jose-local'

/** The settings of one server child, passed as JSON in `BENCH_SPEC`. */
export interface ServerSpec {
  kind: ServerKind
  port: number
  /** The `sub` every guarded route answers (and the bare route, as a constant). */
  sub: string
  /** fastify-oidc / express-openid-connect: the dev IdP and this server's client. */
  issuer?: string
  clientId?: string
  clientSecret?: string
  /** Session secret of fastify-oidc, express-openid-connect and @fastify/session. */
  sessionSecret?: string
  /** fastify-oidc: `'memory'` or a store URL (`redis://`, `redis+cluster://`). */
  sessionStore?: string
  /** Bearer rows: the `iss` and `aud` of the tokens, and where their keys are. */
  tokenIssuer?: string
  audience?: string
  jwksUri?: string
  /** Bearer rows: fastify-oidc's `verifiedTokenCacheTtl` (undefined: its default). */
  verifiedTokenCacheTtl?: number
  /** jose-local: the public keys, verified locally (no HTTP). */
  jwks?: JSONWebKeySet
  /** fastify-oidc rows: `memoryStoreMax` (undefined: its default). */
  memoryStoreMax?: number
  /** Fetch rows: how the guarded route calls the local downstream, and its URL. */
  fetchMode?: FetchMode
  downstreamUrl?: string
  /** fastify-oidc: add the bench-only route that copies a logged-in session N times (session growth tables). */
  mintSessions?: boolean
  /** Row 11d: the relying party's `dpop: true` (its tokens bound to a per-session key, sent as DPoP). */
  dpop?: boolean
}

/**
 * Rows 11 and 12: the session guard's route calls a local downstream with the
 * user's access token, through `request.oidc.fetch()` (`'oidc'`) or through the
 * global `fetch` (undici) with `Authorization` set by hand from `accessToken()` (`'plain'`).
 */
export type FetchMode = 'oidc' | 'plain'

/**
 * The local downstream a fetch row calls (bench/downstreams.ts): `'header'` (rows 11, 12)
 * checks only that an `Authorization: Bearer` header is there; `'verify-bearer'` (row 11v)
 * is an `oidcResourceServer` verifying the JWT access token (RS256 via the dev IdP's JWKS,
 * its cache of verified tokens); `'verify-dpop'` (row 11d) is one with `dpop: 'required'`,
 * verifying the JWT, its `cnf.jkt` and the request's DPoP proof.
 */
export type DownstreamKind = 'header' | 'verify-bearer' | 'verify-dpop'

/**
 * What a fastify-oidc server wrote to its session store so far, by kind:
 * `set` (a session written), `destroy` (a session removed, a tombstone left),
 * `link` (the back-channel logout index), `claimOnce` (single-use login state).
 */
export interface StoreWrites {
  set: number
  destroy: number
  link: number
  claimOnce: number
}

/** Messages from a server child to the orchestrator (IPC). */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'failed', code: string | undefined, message: string }
  | { type: 'rss', rss: number }
  | { type: 'writes', writes: StoreWrites | null }

/** Messages from the orchestrator to a server child. */
export type ParentMessage = { type: 'rss' } | { type: 'writes' } | { type: 'close' }

export type Credential = 'none' | 'login-oidc' | 'login-express' | 'session-data' | 'claims-only' | 'bearer-rs256' | 'bearer-es256'

export interface RowDef {
  /** The row number ('2b': a reference row the issue does not list). */
  id: string
  label: string
  kind: ServerKind
  credential: Credential
  sessionStore?: string
  /** Bearer rows: fastify-oidc's `verifiedTokenCacheTtl` (undefined: its default, 60 s). */
  verifiedTokenCacheTtl?: number
  /** fastify-oidc rows: `memoryStoreMax` (the growth rows hold more sessions than its default). */
  memoryStoreMax?: number
  /** Fetch rows (11, 11v, 11d, 12): how the route calls the downstream, and which downstream (default `'header'`). */
  fetchMode?: FetchMode
  downstream?: DownstreamKind
  /** Row 11d: the relying party's `dpop: true`. */
  dpop?: boolean
  /** Why a row the issue does not list is there. */
  note?: string
  /** A row that may be refused at start-up (its feature not there yet): skipped with a note instead of failing the run. */
  optional?: string
}

/** Where the Redis row's sessions go (issue 5: row 4 is `sessionStore: 'redis://…'`). */
export const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/**
 * Where the Cluster row's sessions go: BENCH_REDIS_CLUSTER_URL, else `npm run bench`
 * starts a local 3-master cluster and points the row at it (issue 13, row 4c).
 */
export const REDIS_CLUSTER_URL = process.env['BENCH_REDIS_CLUSTER_URL'] ?? 'redis+cluster://started-by-the-bench'

export const ROWS: readonly RowDef[] = [
  { id: '1', label: 'bare Fastify route, no auth', kind: 'bare', credential: 'none' },
  { id: '2', label: '@fastify/session, plain object checked by hand', kind: 'fastify-session', credential: 'session-data' },
  {
    id: '2b',
    label: '@fastify/session, claims only (no tokens) checked by hand',
    kind: 'fastify-session',
    credential: 'claims-only',
    note: 'the issue 15 "small user object" row (targets 3 / 2b and 4 / 2b): a login-only app that keeps no token'
  },
  { id: '3', label: 'fastify-oidc requireAuth, memory store', kind: 'oidc', credential: 'login-oidc', sessionStore: 'memory' },
  {
    id: '4',
    label: 'fastify-oidc requireAuth, Redis store',
    kind: 'oidc',
    credential: 'login-oidc',
    sessionStore: REDIS_URL,
    optional: 'the Redis session store'
  },
  {
    id: '4c',
    label: 'fastify-oidc requireAuth, Redis Cluster store (3 masters)',
    kind: 'oidc',
    credential: 'login-oidc',
    sessionStore: REDIS_CLUSTER_URL,
    optional: 'the Redis Cluster session store'
  },
  { id: '5', label: 'express + express-openid-connect requiresAuth()', kind: 'express-oidc', credential: 'login-express' },
  { id: '6', label: '@fastify/secure-session, same token set', kind: 'secure-session', credential: 'session-data' },
  { id: '7', label: 'fastify-oidc requireBearer, RS256 JWT, no cache (verifiedTokenCacheTtl: 0)', kind: 'bearer', credential: 'bearer-rs256', verifiedTokenCacheTtl: 0 },
  { id: '7c', label: 'fastify-oidc requireBearer, RS256 JWT, cache of verified tokens (default)', kind: 'bearer', credential: 'bearer-rs256' },
  { id: '8', label: 'fastify-oidc requireBearer, ES256 JWT, no cache', kind: 'bearer', credential: 'bearer-es256', verifiedTokenCacheTtl: 0 },
  { id: '9', label: 'fastify-jwt-jwks (@fastify/jwt), RS256 JWT', kind: 'jwt-jwks', credential: 'bearer-rs256' },
  { id: '10', label: 'raw jose.jwtVerify + createLocalJWKSet, RS256', kind: 'jose-local', credential: 'bearer-rs256' },
  {
    id: '11',
    label: 'fastify-oidc requireAuth + request.oidc.fetch() (Bearer) to a local downstream checking only that a Bearer header is there',
    kind: 'oidc',
    credential: 'login-oidc',
    sessionStore: 'memory',
    fetchMode: 'oidc'
  },
  {
    id: '11v',
    label: 'fastify-oidc requireAuth + request.oidc.fetch() (Bearer) to an oidcResourceServer downstream verifying the JWT (RS256, JWKS, its token cache)',
    kind: 'oidc',
    credential: 'login-oidc',
    sessionStore: 'memory',
    fetchMode: 'oidc',
    downstream: 'verify-bearer'
  },
  {
    id: '11d',
    label: 'fastify-oidc requireAuth, dpop: true + request.oidc.fetch() (DPoP, fresh ES256 proof) to an oidcResourceServer downstream (dpop: required) verifying the JWT, its cnf.jkt and the proof',
    kind: 'oidc',
    credential: 'login-oidc',
    sessionStore: 'memory',
    fetchMode: 'oidc',
    downstream: 'verify-dpop',
    dpop: true
  },
  {
    id: '12',
    label: 'fastify-oidc requireAuth + global fetch (undici), Authorization set by hand from accessToken()',
    kind: 'oidc',
    credential: 'login-oidc',
    sessionStore: 'memory',
    fetchMode: 'plain'
  }
]

/** What the relying parties (rows 3-5) ask for: the dev IdP then issues an RS256 JWT access token. */
export const SCOPE = 'openid profile email api:read api:write'

/** The guarded route of every server. */
export const ROUTE = '/me'

/** The body every server answers on `ROUTE` to a valid credential. */
export function expectedBody (sub: string): string {
  return JSON.stringify({ sub })
}
