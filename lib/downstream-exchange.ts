import type { FastifyRequest } from 'fastify'
import type { ResolvedExchange } from './downstream-config.js'
import { OidcUnauthenticatedError } from './errors.js'
import { reasonOf, withReason } from './idp-errors.js'
import type { Runtime } from './runtime.js'
import { storeCall } from './session/session-index.js'
import { identityOf, keepExpiry, type ExchangedEntry, type SessionPayload, type StoredSession } from './session/token-vault.js'
import type { Flight } from './tokens/single-flight.js'

/** A downstream's exchanged token, and the session as it was saved with it (`stored` undefined: nothing was saved). */
export interface ExchangeResult {
  token: string
  payload: SessionPayload
  stored: StoredSession | undefined
}

/** The parameters an exchanged token was issued for, and the DPoP key it is bound to, as one string. */
function fingerprint (exchange: ResolvedExchange, payload: SessionPayload): string {
  const jkt = payload.tokens.dpopKey?.jkt
  return JSON.stringify([exchange.audience ?? null, exchange.resource ?? null, exchange.scope ?? null, ...(jkt === undefined ? [] : [jkt])])
}

/**
 * The session's token for this downstream when it can still be sent: issued for the
 * same exchange parameters (and DPoP key), not the one the downstream just refused, and not within
 * `leeway` seconds of its expiry (a token without a known expiry is never kept).
 */
export function cachedExchange (payload: SessionPayload, exchange: ResolvedExchange, leeway: number, refused?: string): string | undefined {
  const entry = payload.exchanged?.[exchange.origin]
  if (entry === undefined || entry.for !== fingerprint(exchange, payload) || entry.accessToken === refused) return undefined
  return entry.expiresAt! - leeway > Date.now() / 1000 ? entry.accessToken : undefined
}

/** The payload with `entry` for `origin` (none: without one); other downstreams' entries that expired are dropped. */
function withEntry (payload: SessionPayload, origin: string, entry: ExchangedEntry | undefined): SessionPayload {
  const now = Date.now() / 1000
  const kept = Object.entries(payload.exchanged ?? {}).filter(([key, e]) => key !== origin && e.expiresAt! > now)
  return { ...payload, exchanged: Object.fromEntries(entry === undefined ? kept : [...kept, [origin, entry]]) }
}

/**
 * One session's token exchange for one downstream (RFC 8693), shared by the
 * requests of this process that need it (`SingleFlight`). It runs under the
 * session's refresh lock in the store, so it never overwrites a refresh (or
 * another exchange) saved meanwhile by any instance: the session is read again
 * under the lock, and a token another instance exchanged is taken as it is.
 * The exchanged token is sealed into the session with the rest of the token
 * set (when the IdP says when it expires), and saved at once. The lock not had
 * in time: the token is exchanged and sent, but not kept. Failures are the
 * refresh's (401 / 502 / 504, see `exchangeToken`), with a
 * `token_exchange_failure` event; the user's own token is never sent instead.
 */
export function startExchange (runtime: Runtime, request: FastifyRequest, current: SessionPayload, exchange: ResolvedExchange, refused: string | undefined): Flight<ExchangeResult> {
  const settled = runExchange(runtime, request, current, exchange, refused)
  return { settled, pendingUntil: undefined, wait: async () => await settled }
}

async function runExchange (runtime: Runtime, request: FastifyRequest, current: SessionPayload, exchange: ResolvedExchange, refused: string | undefined): Promise<ExchangeResult> {
  const { innerStore, store, vault, waitMs, lockTtlMs, audit } = runtime
  const sessionId = request.session.sessionId
  try {
    const release = innerStore.lock === undefined ? undefined : await storeCall(innerStore.lock(`refresh:${sessionId}`, lockTtlMs, waitMs))
    try {
      let base = current
      if (release !== undefined) {
        const stored = (await storeCall(store.load(sessionId)))?.oidc
        if (stored === undefined) throw withReason(new OidcUnauthenticatedError(), 'session_ended')
        const latest = await vault.open(stored, sessionId)
        if (latest !== null) {
          // The newest token set (a refresh elsewhere): what is exchanged, and what the new token is saved with.
          base = latest.payload
          keepExpiry(request)
          request.session.set('oidc', stored)
        }
        const token = cachedExchange(base, exchange, runtime.config.refreshLeeway, refused)
        if (token !== undefined) return { token, payload: base, stored }
      }
      return await exchangeInto(runtime, request, base, exchange, release !== null)
    } finally {
      await release?.().catch(() => {})
    }
  } catch (err) {
    audit(request, 'token_exchange_failure', { ...identityOf(current), downstream: exchange.origin, reason: reasonOf(err, 'token_exchange_error') })
    throw err
  }
}

/**
 * Exchanges the session's access token at its provider and, when `keep`, saves the new
 * token in the session — or, when the IdP gave no expiry, drops the session's old token
 * for this downstream (it may be the one just refused).
 */
async function exchangeInto (runtime: Runtime, request: FastifyRequest, base: SessionPayload, exchange: ResolvedExchange, keep: boolean): Promise<ExchangeResult> {
  const { providers, vault, audit } = runtime
  const { client } = providers.get(base.provider)!
  const { origin, ...target } = exchange
  const issued = await client.exchangeToken(base.tokens.accessToken, target, base.tokens.dpopKey)
  audit(request, 'token_exchange', { ...identityOf(base), downstream: origin })
  const entry = issued.expiresAt === undefined ? undefined : { accessToken: issued.accessToken, expiresAt: issued.expiresAt, for: fingerprint(exchange, base) }
  if (!keep || (entry === undefined && base.exchanged?.[origin] === undefined)) return { token: issued.accessToken, payload: base, stored: undefined }
  const payload = withEntry(base, origin, entry)
  const stored = await vault.write(request, payload)
  // Best effort: a store failing now costs one more exchange later, not this call.
  await Promise.allSettled([request.session.save()])
  return { token: issued.accessToken, payload, stored }
}
