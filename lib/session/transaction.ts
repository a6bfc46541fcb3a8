import { createHash, randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { deriveKeys } from './keys.js'
import { Sealer } from './seal.js'
import { storeCall } from './session-index.js'

/** What a login must remember between `/auth/login` and the callback. */
export interface LoginTransaction {
  state: string
  nonce: string
  codeVerifier: string
  returnTo: string
  provider: string
  /** `max_age` sent with the authorization request, seconds: the ID token's `auth_time` must be within it. */
  maxAge?: number | undefined
  /** `acr_values` sent with the authorization request: the ID token's `acr` must be one of them. */
  acr?: string[] | undefined
  /** A step-up of a signed-in user: the `sub` the login must come back for. */
  subject?: string | undefined
  /** The app's own redirect URI (`redirectUris`), when the login was not started for the built-in callback. */
  redirectUri?: string | undefined
  /** The scope requested when `extra` replaced the configured one (RFC 6749 5.1: the granted scope when the answer names none). */
  scope?: string | undefined
}

/** Lifetime of a login transaction (and of its cookie), seconds. */
export const TRANSACTION_TTL = 600
const COOKIE_PREFIX = 'oidc.tx.'
/** Logins a browser may have under way at once; starting another drops the oldest (cookies must not pile up). */
const MAX_PENDING = 4
const STATE_FORMAT = /^[\w-]{22,128}$/

/** 32 random bytes, base64url (state, nonce, PKCE verifier). */
export function randomToken (): string {
  return randomBytes(32).toString('base64url')
}

/** Where a fresh login of a transaction goes: its `returnTo` and provider. */
export type RetryLogin = Pick<LoginTransaction, 'returnTo' | 'provider'>

export type TransactionResult =
  | { ok: true, transaction: LoginTransaction }
  | { ok: false, reason: 'state_mismatch' }
  | { ok: false, reason: 'state_replayed', retry?: RetryLogin | undefined }

/** A state already used: the login it started, and whether its replay may start that login afresh (once). */
interface UsedState extends RetryLogin {
  retry: boolean
}

/** Claims a key once in a store shared by every instance (`SessionStoreCapabilities.claimOnce`). */
export type ClaimOnce = (key: string, ttlMs: number) => Promise<boolean>

/**
 * The login transaction lives in a sealed (JWE), HttpOnly, SameSite=Lax cookie
 * named after its state and scoped to the plugin's routes, so several logins
 * may run at once in one browser (at most four: starting a fifth drops the
 * oldest) and nothing is written to the session store before login succeeds. A transaction opens once: its state is remembered until it
 * would have expired anyway, and a second use is a replay. With `claimOnce` (a store shared by several
 * instances) the state is also claimed in the store, so a replay on another instance is refused too.
 */
export class TransactionCookies {
  readonly #sealer: Sealer<LoginTransaction>
  readonly #cookieOptions: { path: string, httpOnly: true, sameSite: 'lax', secure: boolean }
  readonly #used = new LRUCache<string, UsedState>({ max: 100_000, ttl: TRANSACTION_TTL * 1000 })
  readonly #claimOnce: ClaimOnce | undefined

  constructor (secrets: readonly string[], routesPath: string, secure: boolean, claimOnce?: ClaimOnce) {
    this.#sealer = new Sealer(deriveKeys(secrets, 'transaction'))
    this.#cookieOptions = { path: routesPath, httpOnly: true, sameSite: 'lax', secure }
    this.#claimOnce = claimOnce
  }

  async write (request: FastifyRequest, reply: FastifyReply, transaction: LoginTransaction): Promise<void> {
    // Browsers send older cookies first (RFC 6265 5.4): the first ones are the oldest logins.
    const pending = Object.keys(request.cookies).filter((name) => name.startsWith(COOKIE_PREFIX))
    for (const name of pending.slice(0, Math.max(0, pending.length - MAX_PENDING + 1))) reply.clearCookie(name, this.#cookieOptions)
    const sealed = await this.#sealer.seal(transaction, { ttl: TRANSACTION_TTL, binding: transaction.state })
    const path = this.#pathFor(transaction.redirectUri === undefined ? this.#cookieOptions.path : new URL(transaction.redirectUri).pathname)
    reply.setCookie(COOKIE_PREFIX + transaction.state, sealed, { ...this.#cookieOptions, path, maxAge: TRANSACTION_TTL })
  }

  /**
   * The cookie's path: the plugin's routes, or the app's own callback path when
   * it lies outside them (the browser must send the cookie there, and only there).
   */
  #pathFor (callbackPath: string): string {
    const routes = this.#cookieOptions.path
    return callbackPath === routes || callbackPath.startsWith(`${routes}/`) ? routes : callbackPath
  }

  /** Opens and consumes the transaction for `state`, and clears its cookie whatever the outcome. */
  async take (request: FastifyRequest, reply: FastifyReply, state: string): Promise<TransactionResult> {
    if (!STATE_FORMAT.test(state)) return { ok: false, reason: 'state_mismatch' }
    const name = COOKIE_PREFIX + state
    const raw = request.cookies[name]
    if (raw !== undefined) reply.clearCookie(name, { ...this.#cookieOptions, path: this.#pathFor(request.url.split('?')[0]!) })
    const used = this.#used.get(state)
    if (used !== undefined) {
      const retry = used.retry ? { returnTo: used.returnTo, provider: used.provider } : undefined
      used.retry = false
      return { ok: false, reason: 'state_replayed', retry }
    }
    const opened = await this.#sealer.open(raw, { binding: state })
    if (opened === null) return { ok: false, reason: 'state_mismatch' }
    const { returnTo, provider } = opened.payload
    this.#used.set(state, { returnTo, provider, retry: false })
    const key = `login:${createHash('sha256').update(state).digest('base64url')}`
    if (this.#claimOnce !== undefined && !await storeCall(this.#claimOnce(key, TRANSACTION_TTL * 1000))) return { ok: false, reason: 'state_replayed' }
    return { ok: true, transaction: opened.payload }
  }

  /**
   * The login of `state` failed upstream (the IdP unusable or too slow): one replay
   * of its callback in this process may start that login afresh.
   */
  offerRetry (state: string): RetryLogin | undefined {
    const used = this.#used.get(state)
    if (used === undefined) return undefined
    used.retry = true
    return { returnTo: used.returnTo, provider: used.provider }
  }
}
