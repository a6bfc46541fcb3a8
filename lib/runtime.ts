import type { Audit } from './audit.js'
import type { BasicAuthenticator } from './basic/context.js'
import type { ResolvedConfig } from './config.js'
import type { ProviderClient } from './provider/client.js'
import type { BearerAuthenticator } from './resource-server/context.js'
import type { SessionIndex } from './session/session-index.js'
import type { OidcSessionStore } from './session/store.js'
import type { TombstoneStore } from './session/tombstones.js'
import type { SessionPayload, StoredSession, TokenVault } from './session/token-vault.js'
import type { Flight, SingleFlight } from './tokens/single-flight.js'

/** What the routes, guards and request contexts share for one plugin registration. */
export interface Runtime {
  config: ResolvedConfig
  client: ProviderClient
  vault: TokenVault
  /** Each session's refresh in flight in this process. */
  flights: SingleFlight<Flight<{ payload: SessionPayload, stored: StoredSession }>>
  /** Each session's token exchange per downstream in flight in this process (see lib/downstream-exchange.ts). */
  exchangeFlights: SingleFlight<Flight<{ token: string, payload: SessionPayload, stored: StoredSession | undefined }>>
  audit: Audit
  /** The store @fastify/session uses (tombstones, 503 on failure). */
  store: TombstoneStore
  /** The store inside it, with its capabilities (locks, index, replay cache) when it has them. */
  innerStore: OidcSessionStore
  index: SessionIndex
  /** Every provider by name, the default one first: its client and its session index (back-channel logout). */
  providers: ReadonlyMap<string, { client: ProviderClient, index: SessionIndex }>
  /** How long a refresh waits for another instance's, milliseconds. */
  waitMs: number
  /** How long a session's refresh lock is held at most, milliseconds (past the grant's own time-out). */
  lockTtlMs: number
  /** Delegated (Basic) authentication, when `authenticate` is given. */
  basic: { realm: string, authenticate: BasicAuthenticator } | undefined
  /** Bearer tokens, when the `resourceServer` option or `OIDC_AUDIENCE` is given. */
  bearer: { realm: string, authenticate: BearerAuthenticator } | undefined
}
