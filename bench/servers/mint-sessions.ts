// The session growth tables (bench/session-growth.ts) need N live sessions in a
// fastify-oidc server's store, each with its own cookie. Logging in N times
// through the dev IdP would take minutes; instead this copies the session of one
// real login N - 1 times, with the plugin's own code: a fresh id from its id
// generator, the token set sealed again bound to that id (TokenVault, as a login
// seals it), the store entry written through the same store, the session linked
// in the back-channel index (SessionIndex, as a login links it; under an IdP
// session and a user of its own, as N users' sessions would be), and the id
// signed by the cookie signer the plugin gives @fastify/session. Bench only:
// a route of the bench server (bench/servers/oidc.ts), never of the library.
import { randomUUID } from 'node:crypto'
import type { Session } from 'fastify'
import { cookieSigningSecrets } from '../../lib/session/keys.js'
import { SessionCookieSigner } from '../../lib/session/cookie-signer.js'
import { SessionIndex } from '../../lib/session/session-index.js'
import { generateSessionId } from '../../lib/session/session-id.js'
import type { OidcSessionStore } from '../../lib/session/store.js'
import { TokenVault, type StoredSession } from '../../lib/session/token-vault.js'

/** The bench server's route that mints sessions (POST `{ count }` with a logged-in cookie). */
export const MINT_ROUTE = '/bench-mint-sessions'

/** Sessions written at once (the Redis store then has that many commands in flight). */
const BATCH = 256

export interface MintOptions {
  store: OidcSessionStore
  sessionSecret: string
  issuer: string
  cookieName: string
  /** The session lifetime (ms): how long the index links live. */
  ttlMs: number
}

const promised = <T>(call: (callback: (err: unknown, value?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => call((err, value) => err == null ? resolve(value) : reject(err)))

/**
 * Writes `count` copies of the logged-in session `sessionId` under fresh ids and
 * resolves to their `Cookie` header values (`<name>=<signed id>`).
 */
export async function mintSessions (options: MintOptions, sessionId: string, count: number): Promise<string[]> {
  const { store, sessionSecret, issuer, cookieName, ttlMs } = options
  const snapshot = await promised<Session | null>((cb) => store.get(sessionId, cb)) as unknown as Record<string, unknown> | null
  const stored = snapshot?.['oidc'] as StoredSession | undefined
  const vault = new TokenVault([sessionSecret])
  const opened = await vault.open(stored, sessionId)
  if (snapshot == null || stored === undefined || opened === null) throw new Error(`session ${sessionId} is not a logged-in session of this store`)
  const index = new SessionIndex([sessionSecret], store, issuer, ttlMs)
  const signer = new SessionCookieSigner(cookieSigningSecrets([sessionSecret]))
  const mintOne = async (): Promise<string> => {
    const id = generateSessionId()
    const oidc: StoredSession = { ...stored, sealed: await vault.seal(opened.payload, id) }
    await promised((cb) => store.set(id, { ...snapshot, oidc } as unknown as Session, cb))
    await index.link(id, { sid: randomUUID(), sub: randomUUID() })
    return `${cookieName}=${encodeURIComponent(signer.sign(id))}`
  }
  const cookies: string[] = []
  for (let done = 0; done < count; done += BATCH) {
    cookies.push(...await Promise.all(Array.from({ length: Math.min(BATCH, count - done) }, mintOne)))
  }
  return cookies
}
