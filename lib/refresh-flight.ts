import type { FastifyRequest } from 'fastify'
import { reasonOf } from './idp-errors.js'
import type { Runtime } from './runtime.js'
import { refreshTimeoutError } from './session/refresh-pending.js'
import { withRefreshLock } from './session/refresh-lock.js'
import { identityOf, keepExpiry, type SessionPayload, type StoredSession } from './session/token-vault.js'
import type { Flight } from './tokens/single-flight.js'

/** The refresh grant's token request may take this many HTTP time-outs before its socket is given up. */
export const GRANT_TIMEOUT_FACTOR = 5
/** A session's refresh lock (and its back-off) lasts at most this many HTTP time-outs: past the grant's own time-out. */
export const LOCK_TTL_FACTOR = 6

/** A refreshed session: its payload and what its session holds. */
export interface RefreshResult {
  payload: SessionPayload
  stored: StoredSession
}

/**
 * One session's refresh, shared by the requests of this process that need it
 * (`SingleFlight`), under the session's lock in the store (`withRefreshLock`).
 *
 * Callers wait at most the HTTP time-out from when the grant is sent. Past it
 * they get 504 `FST_OIDC_IDP_TIMEOUT`, but the grant goes on — the IdP may be
 * processing it, and with rotating refresh tokens its answer holds the only
 * refresh token still valid — for up to `GRANT_TIMEOUT_FACTOR` time-outs, under
 * a lock of `LOCK_TTL_FACTOR` time-outs released when it settles. Meanwhile the
 * session carries a back-off mark (`refreshPendingUntil`), so every instance
 * answers 503 `FST_OIDC_REFRESH_PENDING` instead of sending a second grant.
 * The late answer is saved into the session (which drops the mark, and emits
 * `refresh`); a late failure just drops the mark (and emits `refresh_failure`
 * with its reason): the session is kept as it was, and the next request tries again.
 */
export class RefreshFlight implements Flight<RefreshResult> {
  readonly settled: Promise<RefreshResult>
  #overdue: Promise<never>
  #giveUp!: (err: Error) => void
  readonly #runtime: Runtime
  readonly #request: FastifyRequest
  readonly #current: SessionPayload
  #pendingUntil: number | undefined
  #marking: Promise<void> | undefined

  /** Starts refreshing `current`, the session of `request` (whose session object the results are saved through). */
  constructor (runtime: Runtime, request: FastifyRequest, current: SessionPayload) {
    this.#runtime = runtime
    this.#request = request
    this.#current = current
    this.#overdue = new Promise<never>((_resolve, reject) => { this.#giveUp = reject })
    // Nobody may be waiting any more when it gives up.
    this.#overdue.catch(() => {})
    this.settled = this.#run()
  }

  /** While the grant is at the IdP past the callers' patience: until when it may still run (ms since the epoch). */
  get pendingUntil (): number | undefined {
    return this.#pendingUntil
  }

  /** The refreshed session, or the refresh's error — 504 once the callers' patience ran out. */
  async wait (): Promise<RefreshResult> {
    return await Promise.race([this.settled, this.#overdue])
  }

  async #run (): Promise<RefreshResult> {
    const { audit } = this.#runtime
    const { accessToken } = this.#current.tokens
    try {
      return await withRefreshLock(this.#runtime, this.#request.session.sessionId, accessToken, async () => await this.#grant(), (payload, stored) => ({ payload, stored }))
    } catch (err) {
      audit(this.#request, 'refresh_failure', { ...identityOf(this.#current), reason: reasonOf(err, 'refresh_error') })
      throw err
    }
  }

  /** Under the lock: the grant, with the callers' patience counted from when it is sent. */
  async #grant (): Promise<RefreshResult> {
    const { config, vault, audit, providers } = this.#runtime
    const request = this.#request
    const current = this.#current
    // The session's own provider: a session of a provider no longer configured does not open.
    const { client } = providers.get(current.provider)!
    const until = Date.now() + LOCK_TTL_FACTOR * config.httpTimeout
    // (#timeOut never rejects: the mark is best effort, the audit catches its hook's errors.)
    const timer = setTimeout(async () => await this.#timeOut(until), config.httpTimeout)
    let refreshed: Awaited<ReturnType<typeof client.refresh>>
    try {
      refreshed = await client.refresh(current.tokens, current.claims, GRANT_TIMEOUT_FACTOR * config.httpTimeout)
    } catch (err) {
      await this.#settle(timer, true)
      throw err
    }
    await this.#settle(timer, false)
    const payload: SessionPayload = { ...current, tokens: refreshed.tokens, claims: refreshed.claims ?? current.claims }
    // A fresh stored session: without the back-off mark.
    const stored = await vault.write(request, payload)
    await request.session.save()
    audit(request, 'refresh', identityOf(payload))
    return { payload, stored }
  }

  /** The callers' patience ran out with the grant still at the IdP: mark the back-off in the session, then 504 (once). */
  async #timeOut (until: number): Promise<void> {
    this.#pendingUntil = until
    this.#marking = this.#mark(until)
    await this.#marking
    this.#runtime.audit(this.#request, 'refresh_failure', { ...identityOf(this.#current), reason: 'idp_timeout' })
    this.#giveUp(refreshTimeoutError(until, this.#runtime.waitMs))
  }

  /**
   * The IdP answered, or the request is dead: no back-off is marked from now on; a
   * mark being written is awaited (so it never lands after the new tokens), and
   * removed when the grant failed (the session then stays as it was).
   */
  async #settle (timer: NodeJS.Timeout, failed: boolean): Promise<void> {
    clearTimeout(timer)
    // From now on callers wait for the result itself.
    this.#pendingUntil = undefined
    this.#overdue = new Promise<never>(() => {})
    if (this.#marking === undefined) return
    await this.#marking
    if (failed) await this.#mark(undefined)
  }

  /**
   * Writes the back-off mark into the session (`undefined`: removes it), saved at
   * once — the request that started the refresh may have been answered long ago.
   * Best effort: with the store down the lock still keeps one grant in flight.
   */
  async #mark (until: number | undefined): Promise<void> {
    const request = this.#request
    const { refreshPendingUntil, ...stored } = request.session.oidc!
    keepExpiry(request)
    request.session.set('oidc', until === undefined ? stored : { ...stored, refreshPendingUntil: until })
    await Promise.allSettled([request.session.save()])
  }
}
