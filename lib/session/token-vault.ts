import type { FastifyRequest } from 'fastify'
import { decodeJwt } from 'jose'
import { LRUCache } from 'lru-cache'
import { userClaims } from '../tokens/id-token.js'
import type { OidcClaims, OidcTokenSet } from '../contract.js'
import { deriveKeys } from './keys.js'
import { Sealer } from './seal.js'

/** A token exchanged for one downstream (RFC 8693), kept in the sealed payload until shortly before it expires. */
export interface ExchangedEntry {
  accessToken: string
  /** Unix seconds, when the IdP said. */
  expiresAt?: number | undefined
  /** The exchange's parameters it was issued for (`audience`, `resource`, `scope`): changed settings make it unusable. */
  for: string
}

/** The sealed content of a logged-in session. */
export interface SessionPayload {
  tokens: OidcTokenSet
  claims: OidcClaims
  provider: string
  /** Set by a login that asked for a step-up: which requirement (`stepUpKey`) and when (ms since the epoch). */
  stepUp?: { key: string, at: number } | undefined
  /** Tokens exchanged for downstreams, by origin (only origins declared with an exchange: bounded by the configuration). */
  exchanged?: Record<string, ExchangedEntry> | undefined
}

/** What `request.session.oidc` holds: no token and no claim is readable. */
export interface StoredSession {
  v: 1
  sealed: string
  provider: string
  /**
   * How many times this session's token set was written (1 at login, one more at
   * each refresh or re-seal): a request that loaded an older one cannot write it
   * back over a newer one (see `TombstoneStore.set`).
   */
  gen?: number | undefined
  /** With an idle timeout: when the session ends unless used again (ms since the epoch). */
  idleUntil?: number | undefined
  /**
   * Set while this session's refresh grant is at an IdP that did not answer within
   * the HTTP time-out: until when (ms since the epoch) no other refresh is tried.
   */
  refreshPendingUntil?: number | undefined
}

declare module 'fastify' {
  interface Session {
    oidc?: StoredSession | undefined
  }
}

/** Who a session belongs to, as audit events name them: provider, `sub`, and the IdP's `sid` when it sent one. */
export function identityOf ({ provider, claims }: Pick<SessionPayload, 'provider' | 'claims'>): { provider: string, sub: string, sid?: string } {
  const sid = claims['sid']
  return { provider, sub: claims.sub, ...(typeof sid === 'string' ? { sid } : {}) }
}

/**
 * A session's lifetime is absolute (`sessionMaxAge` from login). @fastify/session
 * gives a session it saves again a new expiry counted from now; a session
 * rewritten later (refresh, re-seal) keeps the expiry it was stored with.
 */
export function keepExpiry (request: FastifyRequest): void {
  // (A session object built by hand, as in unit tests, may have no cookie.)
  const cookie = request.session.cookie as { originalExpires?: unknown, expires?: Date | null } | undefined
  const stored = cookie?.originalExpires
  if (cookie !== undefined && stored instanceof Date) cookie.expires = stored
}

interface CacheEntry {
  sessionId: string
  payload: SessionPayload
}

/** What is sealed: the payload, without its claims when they are exactly the ID token's user claims. */
type SealedPayload = Omit<SessionPayload, 'claims'> & { claims?: OidcClaims }

/** The user claims of an ID token (validated when it was received), as a login derives them; undefined without a readable one. */
function idTokenClaims (idToken: string | undefined): OidcClaims | undefined {
  try {
    return userClaims(decodeJwt(idToken!) as OidcClaims)
  } catch {
    return undefined
  }
}

/**
 * Keeps the token set and claims in the server-side session, sealed with JWE
 * under a key derived for this purpose and bound to the session id (a sealed
 * value copied under another session id does not open). Opened values are kept
 * in a bounded in-process cache keyed by the sealed string, so a request does
 * not pay a decryption when its session has not changed.
 *
 * To keep sessions small, the plaintext is DEFLATE-compressed (the store is
 * server-side: no client sees its length), and the claims are not sealed when
 * they equal the ID token's user claims exactly — the usual case, without
 * userinfo — but rebuilt from the sealed ID token when opened.
 */
export class TokenVault {
  readonly #sealer: Sealer<SealedPayload>
  readonly #opened: LRUCache<string, CacheEntry>
  readonly #idleMs: number
  readonly #providers: ReadonlySet<string> | undefined

  /** With `providers`, a session of a provider no longer configured does not open (it is dropped). */
  constructor (secrets: readonly string[], cacheSize = 10_000, idleMs = 0, providers?: ReadonlySet<string>) {
    this.#sealer = new Sealer(deriveKeys(secrets, 'token-set'), { compress: true })
    this.#opened = new LRUCache({ max: cacheSize })
    this.#idleMs = idleMs
    this.#providers = providers
  }

  /**
   * The rolling lifetime (idle timeout), when one is set: false when the
   * session went unused past its deadline; otherwise the deadline moves on —
   * at most once a minute, so most requests write nothing to the store.
   */
  active (request: FastifyRequest): boolean {
    const idleMs = this.#idleMs
    if (idleMs === 0) return true
    const stored = request.session.oidc!
    const now = Date.now()
    if (typeof stored.idleUntil === 'number' && stored.idleUntil <= now) return false
    if (typeof stored.idleUntil !== 'number' || stored.idleUntil - now < idleMs - Math.min(60_000, idleMs / 10)) {
      keepExpiry(request)
      request.session.set('oidc', { ...stored, idleUntil: now + idleMs })
    }
    return true
  }

  /** The session's payload, or `null` when anonymous or unreadable. Re-seals values sealed with an old key. */
  async read (request: FastifyRequest): Promise<SessionPayload | null> {
    const opened = await this.open(request.session.oidc, request.session.sessionId)
    if (opened !== null && this.#providers?.has(opened.payload.provider) === false) return null
    if (opened?.stale === true) await this.write(request, opened.payload)
    return opened?.payload ?? null
  }

  /**
   * Opens what a session id's session holds (e.g. as just re-read from the store):
   * the payload and whether it was sealed with an old key, or `null`.
   */
  async open (stored: StoredSession | undefined, sessionId: string): Promise<{ payload: SessionPayload, stale: boolean } | null> {
    if (stored === undefined || typeof stored.sealed !== 'string') return null
    const hit = this.#opened.get(stored.sealed)
    if (hit !== undefined && hit.sessionId === sessionId) return { payload: hit.payload, stale: false }
    const opened = await this.#sealer.open(stored.sealed, { binding: sessionId })
    if (opened === null) return null
    const { claims, ...rest } = opened.payload
    const payload: SessionPayload = { ...rest, claims: claims ?? idTokenClaims(rest.tokens.idToken)! }
    if (!opened.stale) this.#opened.set(stored.sealed, { sessionId, payload })
    return { payload, stale: opened.stale }
  }

  /** Seals a session's payload, bound to its id (see the class). */
  async seal (payload: SessionPayload, sessionId: string): Promise<string> {
    const { claims, ...rest } = payload
    const sealed: SealedPayload = JSON.stringify(idTokenClaims(rest.tokens.idToken)) === JSON.stringify(claims) ? rest : payload
    return await this.#sealer.seal(sealed, { binding: sessionId })
  }

  /** Seals `payload` into the request's session (saved by `@fastify/session` when the reply is sent). */
  async write (request: FastifyRequest, payload: SessionPayload): Promise<StoredSession> {
    const sessionId = request.session.sessionId
    const sealed = await this.seal(payload, sessionId)
    const gen = (request.session.oidc?.gen ?? 0) + 1
    const stored: StoredSession = { v: 1, sealed, provider: payload.provider, gen, ...(this.#idleMs > 0 ? { idleUntil: Date.now() + this.#idleMs } : {}) }
    // Rewriting a logged-in session (not a login, whose regenerated session holds nothing yet).
    if (request.session.oidc !== undefined) keepExpiry(request)
    request.session.set('oidc', stored)
    this.#opened.set(sealed, { sessionId, payload })
    return stored
  }
}
