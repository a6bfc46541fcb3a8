import type { FastifyBaseLogger } from 'fastify'
import { OidcProviderMisconfiguredError, type OidcError } from '../errors.js'
import { reasonOf, withReason } from '../idp-errors.js'
import { MISCONFIGURED, UNAVAILABLE } from './discovery-failure.js'

/** Retries of a discovery that failed: 1 s, doubling, at most 30 s apart. */
const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 30_000

export interface BackgroundDiscoveryOptions<T> {
  /** One discovery attempt; its errors carry a `reason` (`provider_unavailable`, `provider_misconfigured`) or none (configuration error). */
  discover: () => Promise<T>
  /** Names the provider in logs and answers (quoted there), e.g. `default` or the issuer. */
  name: string
  log: FastifyBaseLogger
  /** The 503 answered while the provider cannot be reached (`FST_OIDC_PROVIDER_UNAVAILABLE`, `FST_OIDC_VERIFIER_UNAVAILABLE`). */
  unavailable: () => OidcError
  /** Called once, after the attempt that succeeded. */
  onReady?: ((value: T) => void) | undefined
}

/** An error answered while discovery has not succeeded: its audit reason and the seconds to the next attempt. */
export type DiscoveryRefusal = OidcError & { reason: string, retryAfter: number }

/**
 * Discovery that does not stop an app from starting. `start()` makes the first
 * attempt: an error without a reason (the IdP names another issuer, an endpoint
 * is missing…) rejects, failing `register()`; any other failure is retried in
 * the background — one attempt at a time, 1 s, then doubling up to 30 s — and
 * each failure is logged with its cause and the delay (a misconfiguration at
 * error level, as such). Until an attempt succeeds, `current()` throws at once,
 * without calling the IdP: the `unavailable` 503, or `FST_OIDC_PROVIDER_MISCONFIGURED`
 * (503) after a misconfiguration, each with `retryAfter` (seconds) and its audit
 * `reason`. `close()` stops the retries.
 */
export class BackgroundDiscovery<T> {
  readonly #options: BackgroundDiscoveryOptions<T>
  #value: T | undefined
  #reason = UNAVAILABLE
  #retryMs = FIRST_RETRY_MS
  #nextAttemptAt = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (options: BackgroundDiscoveryOptions<T>) {
    this.#options = options
  }

  async start (): Promise<void> {
    let value: T
    try {
      value = await this.#options.discover()
    } catch (err) {
      if (reasonOf(err, '') === '') throw err
      this.#failed(err)
      return
    }
    this.#ready(value)
  }

  /** The discovered value, or the 503 to answer (see the class). */
  current (): T {
    if (this.#value !== undefined) return this.#value
    const err = this.#reason === MISCONFIGURED ? new OidcProviderMisconfiguredError(JSON.stringify(this.#options.name)) : this.#options.unavailable()
    const refusal: DiscoveryRefusal = Object.assign(withReason(err, this.#reason), { retryAfter: Math.max(1, Math.ceil((this.#nextAttemptAt - Date.now()) / 1000)) })
    throw refusal
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  #ready (value: T): void {
    this.#value = value
    this.#options.onReady?.(value)
  }

  #failed (err: unknown): void {
    const delay = this.#retryMs
    this.#retryMs = Math.min(delay * 2, MAX_RETRY_MS)
    this.#nextAttemptAt = Date.now() + delay
    // A later attempt that finds a wrong document (another issuer…) is a misconfiguration too.
    this.#reason = reasonOf(err, MISCONFIGURED)
    const { log } = this.#options
    const name = JSON.stringify(this.#options.name)
    const fields = { provider: this.#options.name, reason: this.#reason, code: (err as { code?: string }).code, detail: (err as Error).message, retryInSeconds: delay / 1000 }
    if (this.#reason === MISCONFIGURED) {
      log.error(fields, `oidc: provider ${name} is misconfigured (a configuration problem, not an outage: check OIDC_ISSUER / OIDC_DISCOVERY_URL): ${fields.detail}; retrying discovery in ${delay / 1000} s`)
    } else {
      log.warn(fields, `oidc: provider ${name} is not available (${fields.detail}), retrying discovery in ${delay / 1000} s`)
    }
    if (this.#closed) return
    // `#retry` catches its own failures.
    this.#timer = setTimeout(() => { this.#retry().catch(() => {}) }, delay)
    // A pending retry never keeps the process alive.
    this.#timer.unref()
  }

  async #retry (): Promise<void> {
    let value: T
    try {
      value = await this.#options.discover()
    } catch (err) {
      this.#failed(err)
      return
    }
    this.#options.log.info({ provider: this.#options.name }, `oidc: provider ${JSON.stringify(this.#options.name)} discovered`)
    this.#ready(value)
  }
}
