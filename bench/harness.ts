// Starts the benchmark servers (each in its own child process; in this process
// for the smoke test), gives each a genuine credential and checks, before
// anything is measured, that it answers 200 with the right body to that
// credential and refuses a request without one. Used by `npm run bench`
// (bench/run.ts) and by test/bench/bench-smoke.test.ts.
import { execFile, fork, type ChildProcess } from 'node:child_process'
import { copyFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { DevIdpClient } from '../example-app/dev-idp.js'
import { freePort } from '../test/helpers/provider.js'
import { AUDIENCE, browserLogin, sessionDataOf, startFixture, SUB, TOKEN_ISSUER, type Fixture } from './fixture.js'
import { LOGIN_ROUTE, type BenchServer, type SessionData } from './servers/common.js'
import { loadServer } from './servers/index.js'
import { expectedBody, ROUTE, type ChildMessage, type ParentMessage, type RowDef, type ServerSpec, type StoreWrites } from './spec.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const START_TIMEOUT_MS = 60_000
/** bench/tsconfig.json's outDir: inside node_modules, so that the compiled files resolve the packages. */
const BUILD_DIR = join(ROOT, 'node_modules', '.cache', 'fastify-oidc-bench')

/** How the children run: the TypeScript sources through tsx, or plain node on the compiled JavaScript. */
export interface ChildRuntime {
  /** The directory holding `server` and `store-rss` (`.ts` or `.js`). */
  dir: string
  ext: '.ts' | '.js'
  execArgv: string[]
}

/** The sources through tsx: nothing to build (`BENCH_TSX=1`). */
export const TSX_RUNTIME: ChildRuntime = { dir: fileURLToPath(new URL('.', import.meta.url)), ext: '.ts', execArgv: ['--import', 'tsx'] }

/**
 * Compiles the servers (and the library they use) with tsc, as the package is
 * built for users, so that the measured processes run plain JavaScript without
 * tsx's loader (about 30 MB of RSS and a helper call per named closure).
 */
export async function compileServers (): Promise<ChildRuntime> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'bench', 'tsconfig.json')], { cwd: ROOT })
  // Under node_modules, the package scope of /work/…/package.json is not seen: say ESM here.
  await writeFile(join(BUILD_DIR, 'package.json'), '{ "type": "module" }\n')
  // The one plain-JS server (tsc compiles TypeScript only).
  await copyFile(join(ROOT, 'bench', 'servers', 'secure-session.mjs'), join(BUILD_DIR, 'bench', 'servers', 'secure-session.mjs'))
  return { dir: join(BUILD_DIR, 'bench'), ext: '.js', execArgv: [] }
}

/** A server child of one row, listening on loopback. */
export interface ServerChild {
  row: RowDef
  base: string
  pid: number
  /** The server process's resident set size, bytes. */
  rss: () => Promise<number>
  /** What a fastify-oidc server wrote to its session store so far (null: another kind of server). */
  writes: () => Promise<StoreWrites | null>
  close: () => Promise<void>
}

/** A row ready to be measured: its server, and the headers that carry its credential. */
export interface PreparedRow extends ServerChild {
  url: string
  headers: Record<string, string>
  /** fastify-oidc rows: what the real login wrote to the session store (from the login route to the callback's answer). */
  loginWrites: StoreWrites | null
}

export interface SkippedRow {
  row: RowDef
  reason: string
}

export interface Prepared {
  fixture: Fixture
  rows: PreparedRow[]
  skipped: SkippedRow[]
  /** The token set and claims of a real login that rows 2 and 6 hold (the realistic session); set when row 3 ran. */
  sessionData: SessionData | undefined
  /** A port and IdP client kept for an in-process fastify-oidc app (the size probe), when asked for. */
  sizeProbe: { port: number, clientId: string } | undefined
  /** Stops the server children (their CPU profiles, if any, are then written). */
  closeServers: () => Promise<void>
  /** Stops the children, the dev IdP and the JWKS server. */
  close: () => Promise<void>
}

export interface PrepareOptions {
  rows: readonly RowDef[]
  /** Start the servers one after the other (the benchmark) or all at once (the smoke test). Default true. */
  sequential?: boolean
  /** Extra node options per row id (e.g. `--cpu-prof`). */
  nodeArgs?: (row: RowDef) => string[]
  log?: (line: string) => void
  /** Also register an IdP client for an in-process size probe (bench/sizes.ts). */
  sizeProbe?: boolean
  /** Default: children running the TypeScript sources through tsx. `in-process`: no children (the smoke test). */
  runtime?: ChildRuntime | 'in-process'
}

/** A child's environment: the parent's, without a test runner's instrumentation, plus `extra`. */
export function childEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key === 'NODE_V8_COVERAGE' || key.startsWith('TAP') || key.startsWith('_TAPJS')) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

function nextMessage (child: ChildProcess, type: ChildMessage['type'] | Array<ChildMessage['type']>, timeoutMs: number): Promise<ChildMessage> {
  const types = Array.isArray(type) ? type : [type]
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage): void => {
      if (!types.includes(message.type)) return
      cleanup()
      resolve(message)
    }
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup()
      reject(new Error(`the server child exited (${signal ?? `code ${code}`}) before answering ${types.join('/')}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`the server child did not answer ${types.join('/')} within ${timeoutMs} ms`))
    }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

function ask (child: ChildProcess, message: ParentMessage): void {
  // A child that has just disconnected (it failed, or is closing) is not an error here: its exit is awaited.
  if (child.connected) child.send(message, () => {})
}

/** Starts the server of one row in its own process; `failed` carries the error it gave at start-up. */
export async function startServer (row: RowDef, spec: ServerSpec, runtime: ChildRuntime, nodeArgs: string[] = []): Promise<ServerChild | { failed: string }> {
  const child = fork(join(runtime.dir, `server${runtime.ext}`), [], {
    cwd: ROOT,
    env: childEnv({ BENCH_SPEC: JSON.stringify(spec) }),
    execArgv: [...nodeArgs, ...runtime.execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    ask(child, { type: 'close' })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  let first: ChildMessage
  try {
    first = await nextMessage(child, ['ready', 'failed'], START_TIMEOUT_MS)
  } catch (err) {
    await stop()
    throw err
  }
  if (first.type === 'failed') {
    await stop()
    return { failed: `${first.code === undefined ? '' : `${first.code}: `}${first.message}` }
  }
  return {
    row,
    base: `http://127.0.0.1:${spec.port}`,
    pid: child.pid!,
    rss: async () => {
      const answer = nextMessage(child, 'rss', 10_000)
      ask(child, { type: 'rss' })
      return (await answer as Extract<ChildMessage, { type: 'rss' }>).rss
    },
    writes: async () => {
      const answer = nextMessage(child, 'writes', 10_000)
      ask(child, { type: 'writes' })
      return (await answer as Extract<ChildMessage, { type: 'writes' }>).writes
    },
    close: stop
  }
}

/**
 * Runs a row's server in this process instead: what the smoke test does (one
 * process, no start-up per row); the benchmark always uses children.
 */
export async function startInProcess (row: RowDef, spec: ServerSpec): Promise<ServerChild | { failed: string }> {
  let server: BenchServer
  try {
    server = await (await loadServer(spec.kind))(spec)
    await server.listen(spec.port)
  } catch (err) {
    const { code, message } = err as { code?: string, message?: string }
    return { failed: `${code === undefined ? '' : `${code}: `}${String(message)}` }
  }
  return {
    row,
    base: `http://127.0.0.1:${spec.port}`,
    pid: process.pid,
    rss: async () => process.memoryUsage.rss(),
    writes: async () => server.writes?.() ?? null,
    close: async () => { await server.close() }
  }
}

/** The writes from `before` to `after`, by kind. */
export function writesBetween (before: StoreWrites, after: StoreWrites): StoreWrites {
  return { set: after.set - before.set, destroy: after.destroy - before.destroy, link: after.link - before.link, claimOnce: after.claimOnce - before.claimOnce }
}

/** POSTs the session data to a session row's fixture route; its `Set-Cookie` is the credential. */
async function sessionLogin (base: string, data: SessionData): Promise<string> {
  const res = await fetch(`${base}${LOGIN_ROUTE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) })
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!)
  if (res.status !== 200 || cookies.length === 0) throw new Error(`${base}${LOGIN_ROUTE} answered ${res.status} without a session cookie`)
  return cookies.join('; ')
}

/**
 * Checks one row before it is measured: 200 with `{"sub":…}` to its credential,
 * and (but for the bare route) 401 or 302 without it. Throws what is wrong.
 */
export async function verifyRow (prepared: PreparedRow): Promise<void> {
  const { row, url, headers } = prepared
  const expected = expectedBody(SUB)
  const withCredential = await fetch(url, { headers, redirect: 'manual' })
  const body = await withCredential.text()
  if (withCredential.status !== 200 || body !== expected) {
    throw new Error(`row ${row.id} (${row.label}): with its credential it answered ${withCredential.status} ${JSON.stringify(body.slice(0, 200))}, expected 200 ${expected}`)
  }
  if (row.credential === 'none') return
  const without = await fetch(url, { redirect: 'manual' })
  await without.arrayBuffer()
  if (without.status !== 401 && without.status !== 302) {
    throw new Error(`row ${row.id} (${row.label}): without a credential it answered ${without.status}, expected 401 or 302`)
  }
}

/**
 * Allocates a port per row, starts the dev IdP (a client per relying-party row)
 * and the JWKS server, starts every row's server child, logs in for real where
 * the row is a relying party, and verifies every row. A row marked `optional`
 * that fails to start is skipped with its reason; anything else throws.
 */
export async function prepareRows (options: PrepareOptions): Promise<Prepared> {
  const { rows, sequential = true, nodeArgs = () => [], log = () => {}, runtime = TSX_RUNTIME } = options
  const ports = new Map<string, number>()
  for (const row of rows) ports.set(row.id, await freePort())
  const sizeProbe = options.sizeProbe === true ? { port: await freePort(), clientId: 'bench-size-probe' } : undefined
  const base = (row: RowDef): string => `http://127.0.0.1:${ports.get(row.id)}`
  const clientId = (row: RowDef): string => `bench-row-${row.id}`
  const clients: Array<Omit<DevIdpClient, 'client_secret'>> = rows
    .filter((row) => row.credential === 'login-oidc' || row.credential === 'login-express')
    .map((row) => ({
      client_id: clientId(row),
      redirect_uris: [`${base(row)}${row.credential === 'login-oidc' ? '/auth/callback' : '/callback'}`],
      post_logout_redirect_uris: [`${base(row)}/`]
    }))
  if (sizeProbe !== undefined) {
    const probeBase = `http://127.0.0.1:${sizeProbe.port}`
    clients.push({ client_id: sizeProbe.clientId, redirect_uris: [`${probeBase}/auth/callback`], post_logout_redirect_uris: [`${probeBase}/`] })
  }
  const fixture = await startFixture(clients)
  const children: ServerChild[] = []
  const skipped: SkippedRow[] = []
  const closeServers = async (): Promise<void> => {
    await Promise.all(children.map(async (c) => await c.close()))
  }
  let closed = false
  const close = async (): Promise<void> => {
    await closeServers()
    if (closed) return
    closed = true
    await fixture.close()
  }

  try {
    const specOf = (row: RowDef): ServerSpec => ({
      kind: row.kind,
      port: ports.get(row.id)!,
      sub: SUB,
      issuer: fixture.idp.issuer,
      clientId: clientId(row),
      clientSecret: fixture.clientSecret,
      sessionSecret: fixture.sessionSecret,
      sessionStore: row.sessionStore,
      tokenIssuer: TOKEN_ISSUER,
      audience: AUDIENCE,
      jwksUri: fixture.jwksUri,
      verifiedTokenCacheTtl: row.verifiedTokenCacheTtl,
      ...(row.memoryStoreMax === undefined ? {} : { memoryStoreMax: row.memoryStoreMax }),
      ...(row.fetchMode === undefined ? {} : { fetchMode: row.fetchMode, downstreamUrl: fixture.downstreams.url(row.downstream ?? 'header') }),
      ...(row.dpop === undefined ? {} : { dpop: row.dpop }),
      jwks: fixture.jwks
    })
    const start = async (row: RowDef): Promise<void> => {
      const started = runtime === 'in-process'
        ? await startInProcess(row, specOf(row))
        : await startServer(row, specOf(row), runtime, nodeArgs(row))
      if ('failed' in started) {
        if (row.optional === undefined) throw new Error(`row ${row.id} (${row.label}) did not start: ${started.failed}`)
        skipped.push({ row, reason: `${row.optional} is refused at register: ${started.failed.replace(/\s+/g, ' ').trim()}` })
        log(`row ${row.id} skipped: ${skipped.at(-1)!.reason}`)
        return
      }
      children.push(started)
      log(`row ${row.id} listening at ${started.base} (pid ${started.pid})`)
    }
    if (sequential) {
      for (const row of rows) await start(row)
    } else {
      await Promise.all(rows.map(start))
    }
    const order = (child: ServerChild): number => rows.indexOf(child.row)
    children.sort((a, b) => order(a) - order(b))

    // Relying parties first: a real login through the dev IdP; the first one's token set is what rows 2 and 6 hold.
    const credentials = new Map<string, Record<string, string>>()
    const loginWrites = new Map<string, StoreWrites>()
    let sessionData: SessionData | undefined
    for (const child of children) {
      const { row } = child
      if (row.credential === 'login-oidc') {
        const before = await child.writes()
        credentials.set(row.id, { cookie: await browserLogin(`${child.base}/auth/login`, (name) => name === 'oidc.sid') })
        const after = await child.writes()
        if (before !== null && after !== null) loginWrites.set(row.id, writesBetween(before, after))
        const issued = fixture.issued.findLast((i) => i.clientId === clientId(row))
        if (issued === undefined) throw new Error(`the dev IdP recorded no token response for row ${row.id}'s login`)
        sessionData ??= sessionDataOf(issued)
      } else if (row.credential === 'login-express') {
        credentials.set(row.id, { cookie: await browserLogin(`${child.base}/login`, (name) => name.startsWith('appSession')) })
      }
    }
    const headersOf = async (child: ServerChild): Promise<Record<string, string>> => {
      const { row } = child
      switch (row.credential) {
        case 'login-oidc':
        case 'login-express':
          return credentials.get(row.id)!
        case 'session-data':
        case 'claims-only': {
          if (sessionData === undefined) throw new Error(`row ${row.id} holds the token set of a real login: run it with row 3`)
          const data = row.credential === 'session-data' ? sessionData : { user: sessionData.user }
          return { cookie: await sessionLogin(child.base, data) }
        }
        case 'bearer-rs256':
          return { authorization: `Bearer ${fixture.tokens.rs256}` }
        case 'bearer-es256':
          return { authorization: `Bearer ${fixture.tokens.es256}` }
        case 'none':
          return {}
      }
    }
    for (const child of children) credentials.set(child.row.id, await headersOf(child))

    const prepared = children.map((child) => ({
      ...child,
      url: `${child.base}${ROUTE}`,
      headers: credentials.get(child.row.id)!,
      loginWrites: loginWrites.get(child.row.id) ?? null
    }))
    for (const row of prepared) {
      await verifyRow(row)
      log(`row ${row.row.id} verified: 200 with its credential${row.row.credential === 'none' ? '' : ', refused without'}`)
    }
    return { fixture, rows: prepared, skipped, sessionData, sizeProbe, closeServers, close }
  } catch (err) {
    await close()
    throw err
  }
}
