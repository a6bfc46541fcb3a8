import type { FastifyBaseLogger } from 'fastify'
import { OidcProviderUnavailableError } from '../errors.js'
import { idTokenAlgorithms, idTokenKeys, type IdTokenKeys } from '../tokens/keys.js'
import { BackgroundDiscovery } from './background-discovery.js'
import { clientCredentials, type ClientCredentials } from './client-credentials.js'
import { discoverProvider, type DiscoverySettings, type ProviderInfo } from './discovery.js'
import { createOAuth2, type OAuth2Mechanics } from './oauth2.js'
import { dpopAlgFor } from './dpop.js'
import { parEndpointFor } from './par.js'
import type { ResolvedProvider } from './provider-config.js'

/** What a provider is once its metadata is known. */
export interface Discovered {
  info: ProviderInfo
  oauth2: OAuth2Mechanics
  /** The ID-token keys; none for an OAuth 2 only provider (GitHub). */
  keys: IdTokenKeys | undefined
  algorithms: string[]
  /** How the client authenticates (oauth4webapi's terms: PAR, private_key_jwt). */
  credentials: ClientCredentials
  /** The PAR endpoint when authorization requests are pushed (`OIDC_PAR`), else undefined. */
  par: string | undefined
  /** With `OIDC_DPOP=true`, the algorithm of the sessions' DPoP keys (see `dpopAlgFor`), else undefined. */
  dpop: string | undefined
}

export interface ConnectionSettings extends DiscoverySettings {
  /** Seconds between metadata and JWKS refreshes. */
  metadataRefresh: number
}

/**
 * One provider's discovered state, kept current. `start()` makes the first
 * attempt: a configuration error (the metadata names another issuer, lacks an
 * endpoint…) rejects, failing `register()`; an IdP that cannot be reached, or
 * answers no metadata, does not — discovery is then retried in the background
 * (see `BackgroundDiscovery`: single-flight, 1 s doubling up to 30 s) and,
 * until it succeeds, `current()` throws `FST_OIDC_PROVIDER_UNAVAILABLE` (503),
 * or `FST_OIDC_PROVIDER_MISCONFIGURED` (503) when the IdP answers but not with
 * the issuer's metadata, with the seconds to the next attempt.
 * Once discovered, the metadata and the JWKS are refreshed every
 * `metadataRefresh` seconds; a failed refresh keeps the last good copy.
 * `close()` clears every timer.
 */
export class ProviderConnection {
  readonly provider: ResolvedProvider
  readonly #settings: ConnectionSettings
  readonly #log: FastifyBaseLogger
  readonly #discovery: BackgroundDiscovery<Discovered>
  #current: Discovered | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (provider: ResolvedProvider, settings: ConnectionSettings, log: FastifyBaseLogger) {
    this.provider = provider
    this.#settings = settings
    this.#log = log
    this.#discovery = new BackgroundDiscovery({
      name: provider.name,
      log,
      discover: async () => await this.#build(await discoverProvider(provider, settings)),
      unavailable: () => new OidcProviderUnavailableError(JSON.stringify(provider.name)),
      onReady: (discovered) => {
        this.#current = discovered
        // An OAuth 2 only provider has neither metadata nor keys to refresh.
        if (!provider.oauth2Only) this.#later(settings.metadataRefresh * 1000, async () => { await this.#refresh() })
      }
    })
  }

  async start (): Promise<void> {
    await this.#discovery.start()
  }

  /**
   * The discovered provider, or `FST_OIDC_PROVIDER_UNAVAILABLE` / `FST_OIDC_PROVIDER_MISCONFIGURED`
   * (with `retryAfter`, seconds, and the audit `reason`) while discovery has not succeeded.
   */
  current (): Discovered {
    return this.#current ?? this.#discovery.current()
  }

  /** The discovered provider, or undefined while discovery has not succeeded. */
  get discovered (): Discovered | undefined {
    return this.#current
  }

  close (): void {
    this.#closed = true
    this.#discovery.close()
    clearTimeout(this.#timer)
  }

  /** The metadata and the keys again; any failure keeps what is in use. */
  async #refresh (): Promise<void> {
    const keep = (what: string) => (err: unknown): void => {
      this.#log.warn({ provider: this.provider.name, detail: (err as Error).message }, `oidc: ${what} refresh failed, keeping the last good copy`)
    }
    await discoverProvider(this.provider, this.#settings).then(async (info) => { this.#current = await this.#build(info) }).catch(keep('metadata'))
    await this.#current!.keys!.reload().catch(keep('JWKS'))
    this.#later(this.#settings.metadataRefresh * 1000, async () => { await this.#refresh() })
  }

  async #build (info: ProviderInfo): Promise<Discovered> {
    const previous = this.#current
    const jwks = info.endpoints.jwks
    const keys = previous !== undefined && previous.info.endpoints.jwks === jwks
      ? previous.keys
      : jwks === undefined ? undefined : idTokenKeys(this.provider, jwks, this.#settings.httpTimeout)
    return {
      info,
      oauth2: await createOAuth2(this.provider, this.#settings.httpTimeout, info),
      keys,
      algorithms: idTokenAlgorithms(this.provider, info.metadata),
      credentials: await clientCredentials(this.provider, info, this.#settings.httpTimeout),
      par: parEndpointFor(this.provider, info),
      dpop: dpopAlgFor(this.provider, info)
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
