// A child process of the benchmark: fills one store with N sessions shaped like
// a real one and reports its resident set size. `kind` sealed: fastify-oidc's
// MemoryStore (lib/session/memory-store.ts) holding the snapshot of a real
// login, each session's token set sealed again under its own id (as the token
// vault does) and linked in the store's session index when it has one (as the
// callback does). `kind` plain: the same token sets and claims as plain objects
// in a Map (what @fastify/session's own MemoryStore holds, less the live Session
// objects it keeps): the reference. Run with --expose-gc.
import { createHash, randomBytes } from 'node:crypto'
import type { Session } from 'fastify'
import { MemoryStore } from '../lib/index.js'
import { TokenVault, type SessionPayload } from '../lib/session/token-vault.js'

export interface StoreRssInput {
  kind: 'sealed' | 'plain'
  sessions: number
  /** The store entry of a real login (JSON snapshot). */
  snapshot: Record<string, unknown>
  /** What that entry seals. */
  payload: SessionPayload
  sessionSecret: string
}

export interface StoreRssResult {
  kind: StoreRssInput['kind']
  sessions: number
  held: number
  /** Whether each session was also linked in the store's session index (a store that has one). */
  linked: boolean
  /** Bytes, after a full GC, before and after filling the store. */
  rssBefore: number
  rssAfter: number
  heapBefore: number
  heapAfter: number
}

type Linker = (sessionId: string, keys: readonly string[], ttlMs: number) => Promise<void>

const gc = (globalThis as { gc?: () => void }).gc
const input = JSON.parse(process.env['BENCH_STORE'] ?? 'null') as StoreRssInput | null
if (input === null || gc === undefined || process.send === undefined) {
  console.error('bench/store-rss.ts is started by bench/run.ts with --expose-gc, BENCH_STORE and an IPC channel')
  process.exit(2)
}

const { kind, sessions, snapshot, payload } = input
const ttl = 8 * 3600 * 1000
const memory = (): { rss: number, heap: number } => {
  gc()
  gc()
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heap: heapUsed }
}
const hash = (value: string): string => createHash('sha256').update(value).digest('base64url')

const store = new MemoryStore({ max: sessions, ttl })
const link = (store as { link?: Linker }).link?.bind(store)
const plain = new Map<string, unknown>()
// Sealed as the library seals a session (compressed, the claims left out when they are the ID token's).
const vault = new TokenVault([input.sessionSecret])
const noop = (): void => {}
const before = memory()

for (let i = 0; i < sessions; i++) {
  const sessionId = randomBytes(24).toString('base64url')
  if (kind === 'sealed') {
    const sealed = await vault.seal(payload, sessionId)
    const oidc = { ...snapshot['oidc'] as Record<string, unknown>, sealed }
    store.set(sessionId, { ...snapshot, oidc } as unknown as Session, noop)
    if (link !== undefined) await link(sessionId, [hash(`sid ${sessionId}`), hash(`sub ${i}`)], ttl)
  } else {
    // A copy per session: real sessions share no token string.
    plain.set(sessionId, JSON.parse(JSON.stringify({ cookie: snapshot['cookie'], user: payload.claims, tokens: payload.tokens, n: i })))
  }
}

const after = memory()
const result: StoreRssResult = {
  kind,
  sessions,
  held: kind === 'sealed' ? store.size : plain.size,
  linked: kind === 'sealed' && link !== undefined,
  rssBefore: before.rss,
  rssAfter: after.rss,
  heapBefore: before.heap,
  heapAfter: after.heap
}
process.send(result, () => process.disconnect())
