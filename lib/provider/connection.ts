import type { FastifyBaseLogger } from 'fastify'
import { OidcProviderUnavailableError } from '../errors.js'
import { withReason, type ReasonedError } from '../idp-errors.js'
import { idTokenAlgorithms, idTokenKeys, type IdTokenKeys } from '../tokens/keys.js'
import { discoverProvider, type DiscoverySettings, type ProviderInfo, UNAVAILABLE } from './discovery.js'
import { createOAuth2, type OAuth2Mechanics } from './oauth2.js'
import type { ResolvedProvider } from './provider-config.js'

/** What a provider is once its metadata is known. */
export interface Discovered {
  info: ProviderInfo
  oauth2: OAuth2Mechanics
  /** The ID-token keys; none for an OAuth 2 only provider (GitHub). */
  keys: IdTokenKeys | undefined
  algorithms: string[]
}

export interface ConnectionSettings extends DiscoverySettings {
  /** Seconds between metadata and JWKS refreshes. */
  metadataRefresh: number
}

/** Retries of a discovery that failed: 1 s, doubling, at most 30 s apart. */
const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 30_000

/**
 * One provider's discovered state, kept current. `start()` makes the first
 * attempt: a configuration error (the metadata names another issuer, lacks an
 * endpoint…) rejects, failing `register()`; an IdP that cannot be reached or
 * answers no metadata does not — discovery is then retried in the background
 * (1 s, doubling up to 30 s) and, until it succeeds, `current()` throws
 * `FST_OIDC_PROVIDER_UNAVAILABLE` (503) with the seconds to the next attempt.
 * Once discovered, the metadata and the JWKS are refreshed every
 * `metadataRefresh` seconds; a failed refresh keeps the last good copy.
 * `close()` clears every timer.
 */
export class ProviderConnection {
  readonly provider: ResolvedProvider
  readonly #settings: ConnectionSettings
  readonly #log: FastifyBaseLogger
  #current: Discovered | undefined
  #timer: NodeJS.Timeout | undefined
  #retryMs = FIRST_RETRY_MS
  #nextAttemptAt = 0
  #closed = false

  constructor (provider: ResolvedProvider, settings: ConnectionSettings, log: FastifyBaseLogger) {
    this.provider = provider
    this.#settings = settings
    this.#log = log
  }

  async start (): Promise<void> {
    try {
      await this.#connect()
    } catch (err) {
      if ((err as Partial<ReasonedError>).reason !== UNAVAILABLE) throw err
      this.#retryLater(err)
    }
  }

  /** The discovered provider, or `FST_OIDC_PROVIDER_UNAVAILABLE` (with `retryAfter`, seconds) while discovery has not succeeded. */
  current (): Discovered {
    if (this.#current !== undefined) return this.#current
    const err = withReason(new OidcProviderUnavailableError(JSON.stringify(this.provider.name)), UNAVAILABLE)
    throw Object.assign(err, { retryAfter: Math.max(1, Math.ceil((this.#nextAttemptAt - Date.now()) / 1000)) })
  }

  /** The discovered provider, or undefined while discovery has not succeeded. */
  get discovered (): Discovered | undefined {
    return this.#current
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  async #connect (): Promise<void> {
    await this.#use(await discoverProvider(this.provider, this.#settings))
    // An OAuth 2 only provider has neither metadata nor keys to refresh.
    if (!this.provider.oauth2Only) this.#later(this.#settings.metadataRefresh * 1000, async () => { await this.#refresh() })
  }

  /** Another discovery attempt later, with backoff. */
  #retryLater (err: unknown): void {
    const delay = this.#retryMs
    this.#retryMs = Math.min(delay * 2, MAX_RETRY_MS)
    this.#nextAttemptAt = Date.now() + delay
    this.#log.warn({ provider: this.provider.name, code: (err as { code?: string }).code, detail: (err as Error).message }, `oidc: provider ${this.provider.name} is not available, retrying discovery in ${delay / 1000} s`)
    this.#later(delay, async () => {
      await this.#connect().catch((retryErr: unknown) => { this.#retryLater(retryErr) })
    })
  }

  /** The metadata and the keys again; any failure keeps what is in use. */
  async #refresh (): Promise<void> {
    const keep = (what: string) => (err: unknown): void => {
      this.#log.warn({ provider: this.provider.name, detail: (err as Error).message }, `oidc: ${what} refresh failed, keeping the last good copy`)
    }
    await discoverProvider(this.provider, this.#settings).then(async (info) => { await this.#use(info) }).catch(keep('metadata'))
    await this.#current!.keys!.reload().catch(keep('JWKS'))
    this.#later(this.#settings.metadataRefresh * 1000, async () => { await this.#refresh() })
  }

  async #use (info: ProviderInfo): Promise<void> {
    const previous = this.#current
    const jwks = info.endpoints.jwks
    const keys = previous !== undefined && previous.info.endpoints.jwks === jwks
      ? previous.keys
      : jwks === undefined ? undefined : idTokenKeys(this.provider, jwks, this.#settings.httpTimeout)
    this.#current = {
      info,
      oauth2: await createOAuth2(this.provider, this.#settings.httpTimeout, info),
      keys,
      algorithms: idTokenAlgorithms(this.provider, info.metadata)
    }
  }

  #later (ms: number, run: () => Promise<void>): void {
    if (this.#closed) return
    // `run` catches its own failures.
    this.#timer = setTimeout(run, ms)
    // A pending retry or refresh never keeps the process alive.
    this.#timer.unref()
  }
}
