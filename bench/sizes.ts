// The memory/size table: what one session of a real login weighs in
// fastify-oidc's memory store (sealed) against the raw token set, and the RSS
// of the memory store holding 10,000 and 100,000 such sessions (each count in
// its own child process, next to the same sessions kept as plain objects).
import { fork } from 'node:child_process'
import { inflateRawSync } from 'node:zlib'
import { compactDecrypt } from 'jose'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Session } from 'fastify'
import Fastify from 'fastify'
import fastifyOidc, { MemoryStore } from '../lib/index.js'
import { deriveKeys, type DerivedKey } from '../lib/session/keys.js'
import { Sealer } from '../lib/session/seal.js'
import { TokenVault, type SessionPayload, type StoredSession } from '../lib/session/token-vault.js'
import { browserLogin, type Fixture } from './fixture.js'
import { childEnv, type ChildRuntime } from './harness.js'
import { SCOPE } from './spec.js'
import type { StoreRssInput, StoreRssResult } from './store-rss.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface SessionSizes {
  /** JSON of the token set (access, ID and refresh tokens, type, expiry, scope), as fastify-oidc keeps it. */
  tokenSet: number
  /** JSON of the ID token's claims kept as `user`. */
  claims: number
  /** JSON of what the token vault seals: token set + provider, + claims unless they are the ID token's. */
  payload: number
  /** Whether the claims are sealed (they are not when they equal the ID token's user claims). */
  claimsSealed: boolean
  /** The sealed value (compact JWE of the deflated plaintext). */
  sealed: number
  /** JSON of the whole memory-store entry (cookie metadata, the sealed value and its envelope). */
  storeEntry: number
  /** For comparison, the same payload with its claims, the same key and binding: not compressed (as sealed before), and compressed. */
  former: { uncompressed: number, compressedWithClaims: number }
  /** The three tokens alone. */
  jwts: { accessToken: number, idToken: number, refreshToken: number }
  /** Claim counts of the access and ID tokens. */
  claimCounts: { accessToken: number, idToken: number }
}

export interface SessionSample {
  sizes: SessionSizes
  snapshot: Record<string, unknown>
  payload: SessionPayload
}

const jwtClaims = (jwt: string | undefined): number => jwt === undefined ? 0 : Object.keys(JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString())).length

/**
 * Logs in for real, in this process, to a fastify-oidc app whose memory store
 * this function holds, and weighs the session it stored.
 */
export async function measureSession (fixture: Fixture, probe: { port: number, clientId: string }): Promise<SessionSample> {
  const store = new MemoryStore({ max: 10 })
  const base = `http://127.0.0.1:${probe.port}`
  const app = Fastify({ logger: false })
  await app.register(fastifyOidc, {
    issuer: fixture.idp.issuer,
    clientId: probe.clientId,
    clientSecret: fixture.clientSecret,
    baseUrl: base,
    sessionSecret: fixture.sessionSecret,
    scope: SCOPE,
    sessionStore: store,
    env: {}
  })
  await app.listen({ port: probe.port, host: '127.0.0.1' })
  try {
    const cookie = await browserLogin(`${base}/auth/login`, (name) => name === 'oidc.sid')
    const signed = decodeURIComponent(cookie.slice('oidc.sid='.length))
    const sessionId = signed.slice(0, signed.lastIndexOf('.'))
    const snapshot = await new Promise<Session | null | undefined>((resolve, reject) =>
      store.get(sessionId, (err, session) => err == null ? resolve(session) : reject(err))) as unknown as Record<string, unknown> | null
    const sealed = (snapshot?.['oidc'] as { sealed?: unknown } | undefined)?.sealed
    if (snapshot == null || typeof sealed !== 'string') throw new Error('the memory store holds no sealed session after the login')
    const opened = await new TokenVault([fixture.sessionSecret]).open(snapshot['oidc'] as StoredSession, sessionId)
    if (opened === null) throw new Error('the stored session does not open with the session secret')
    const { payload } = opened
    const { tokens } = payload
    const keys = deriveKeys([fixture.sessionSecret], 'token-set')
    // What the vault sealed, decrypted and inflated by hand.
    const { plaintext, protectedHeader } = await compactDecrypt(sealed, (keys[0] as DerivedKey).key, { crit: { cmp: true } })
    const sealedPayload = (JSON.parse((protectedHeader['cmp'] === 'DEF' ? inflateRawSync(plaintext) : Buffer.from(plaintext)).toString()) as { p: Record<string, unknown> }).p
    const sealedWith = async (compress: boolean): Promise<number> => (await new Sealer<SessionPayload>(keys, { compress }).seal(payload, { binding: sessionId })).length
    return {
      snapshot,
      payload,
      sizes: {
        tokenSet: Buffer.byteLength(JSON.stringify(tokens)),
        claims: Buffer.byteLength(JSON.stringify(payload.claims)),
        payload: Buffer.byteLength(JSON.stringify(sealedPayload)),
        claimsSealed: Object.hasOwn(sealedPayload, 'claims'),
        sealed: Buffer.byteLength(sealed),
        storeEntry: Buffer.byteLength(JSON.stringify(snapshot)),
        former: { uncompressed: await sealedWith(false), compressedWithClaims: await sealedWith(true) },
        jwts: { accessToken: tokens.accessToken.length, idToken: tokens.idToken?.length ?? 0, refreshToken: tokens.refreshToken?.length ?? 0 },
        claimCounts: { accessToken: jwtClaims(tokens.accessToken), idToken: jwtClaims(tokens.idToken) }
      }
    }
  } finally {
    await app.close()
  }
}

/** Fills a store with `sessions` sessions in a fresh child process and reports its memory. */
export async function storeRss (input: StoreRssInput, runtime: ChildRuntime): Promise<StoreRssResult> {
  const env = childEnv({ BENCH_STORE: JSON.stringify(input) })
  const child = fork(join(runtime.dir, `store-rss${runtime.ext}`), [], { cwd: ROOT, env, execArgv: ['--expose-gc', ...runtime.execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return await new Promise((resolve, reject) => {
    let result: StoreRssResult | undefined
    child.on('message', (message: StoreRssResult) => { result = message })
    child.on('exit', (code) => result === undefined ? reject(new Error(`bench/store-rss.ts exited with code ${code} without a result`)) : resolve(result))
  })
}
