import type { FastifyRequest } from 'fastify'
import { rolesFrom } from './claims.js'
import type { ResolvedExchange } from './downstream-config.js'
import { forwardFetch, forwardHeaders, sessionRenewal, type Forwarding } from './downstream.js'
import { dpopHandle } from './tokens/dpop-key.js'
import { cachedExchange, startExchange } from './downstream-exchange.js'
import { OidcSessionStoreError, OidcUnauthenticatedError, OidcUnknownProviderError } from './errors.js'
import { reasonOf, withReason } from './idp-errors.js'
import type { Runtime } from './runtime.js'
import { RefreshFlight, type RefreshResult } from './refresh-flight.js'
import { pendingUntil, refreshPendingError } from './session/refresh-pending.js'
import { copyJson } from './tokens/access-token.js'
import { stepUpKey } from './tokens/step-up.js'
import type { Flight } from './tokens/single-flight.js'
import { regenerateSession } from './session/session-id.js'
import { identityOf, keepExpiry, type SessionPayload } from './session/token-vault.js'
import type { OidcClaims, OidcLoginResult, OidcRequestContext } from './contract.js'

/**
 * `request.oidc`: who the caller is and their tokens, loaded from the sealed
 * session once per request, refreshed (single-flight) when the access token is
 * within the leeway of expiry.
 */
export class RequestContext implements OidcRequestContext {
  readonly #request: FastifyRequest
  readonly #runtime: Runtime
  #payload: SessionPayload | null = null
  #via: 'session' | null = null
  #user: { from: OidcClaims, copy: OidcClaims } | null = null
  #ended = false

  constructor (request: FastifyRequest, runtime: Runtime) {
    this.#request = request
    this.#runtime = runtime
  }

  /**
   * The user's claims: this request's own copy, made at the first read (the
   * session's opened value is shared by its requests; changing the copy grants
   * nothing and leaks nowhere).
   */
  get user (): OidcClaims | null {
    const claims = this.#payload?.claims
    if (claims === undefined) return null
    if (this.#user?.from !== claims) this.#user = { from: claims, copy: copyJson(claims) }
    return this.#user.copy
  }

  get via (): 'session' | null {
    return this.#via
  }

  get roles (): string[] {
    // Read as the session's provider says (its roles claim and client id).
    const provider = this.#payload === null ? this.#runtime.config : this.#runtime.providers.get(this.#payload.provider)!.client.provider
    return rolesFrom(this.user, provider.rolesClaim, provider.clientId)
  }

  /** The access token's expiry (Unix seconds), when known. */
  get expiresAt (): number | null {
    return this.#payload?.tokens.expiresAt ?? null
  }

  /** The granted scopes of the access token. */
  get scopes (): string[] {
    return this.#payload?.tokens.scope?.split(' ').filter(Boolean) ?? []
  }

  isAuthenticated (): boolean {
    return this.#payload !== null
  }

  /**
   * Makes a validated login (`authorizeAccessToken()`'s result) this browser's
   * session: the session id is regenerated (fixation defence), the token set
   * sealed and stored, the session linked for back-channel logout, then a
   * `login` event. A store failure stores nothing usable: `login_failure`
   * (`session_store_error`) and 503.
   */
  async login (result: OidcLoginResult): Promise<void> {
    const { vault, audit, providers, store, config } = this.#runtime
    const request = this.#request
    const { tokens, claims, provider } = result
    const entry = providers.get(provider)
    if (entry === undefined) throw new OidcUnknownProviderError(JSON.stringify(String(provider).slice(0, 40)))
    const payload: SessionPayload = { tokens, claims, provider, ...(result.stepUp === undefined ? {} : { stepUp: { key: stepUpKey(result.stepUp), at: Date.now() } }) }
    try {
      await regenerateSession(request, store, config.cookieName)
      await vault.write(request, payload)
      // Back-channel logout finds the session by the IdP's sid and the user's sub (linked before it exists).
      await entry.index.link(request.session.sessionId, { sid: typeof claims['sid'] === 'string' ? claims['sid'] : undefined, sub: claims.sub })
      await request.session.save()
    } catch (err) {
      // Not saved: the reply does not try again (its own failure would replace this answer).
      if (request.session?.oidc !== undefined) request.session.oidc = undefined
      audit(request, 'login_failure', { provider, reason: 'session_store_error' })
      throw withReason(new OidcSessionStoreError({ cause: err }), 'session_store_error')
    }
    this.#payload = payload
    this.#via = 'session'
    this.#ended = false
    audit(request, 'login', identityOf(payload))
  }

  /** Loads the session's sealed payload (idempotent). A session that no longer opens is dropped. */
  async load (): Promise<boolean> {
    if (this.#payload === null && !this.#ended && this.#request.session?.oidc !== undefined) {
      const { vault } = this.#runtime
      this.#payload = vault.active(this.#request) ? await vault.read(this.#request) : null
      if (this.#payload !== null) this.#via = 'session'
      else await this.logout()
    }
    return this.#payload !== null
  }

  /** The session's token set (after `load`), or null. */
  get payload (): SessionPayload | null {
    return this.#payload
  }

  /** True when the access token expires within the refresh leeway. */
  needsRefresh (): boolean {
    const expiresAt = this.#payload?.tokens.expiresAt
    return expiresAt !== undefined && expiresAt - this.#runtime.config.refreshLeeway <= Date.now() / 1000
  }

  /** True when the session holds a refresh token. */
  canRefresh (): boolean {
    return this.#payload?.tokens.refreshToken !== undefined
  }

  async accessToken (): Promise<string> {
    if (!await this.load()) throw new OidcUnauthenticatedError()
    if (this.needsRefresh()) await this.refresh()
    return this.#payload!.tokens.accessToken
  }

  /**
   * Runs the refresh-token grant for this session — once per session even when
   * concurrent requests ask, with one audit event — and saves the new sealed
   * token set. When the IdP refuses the grant (`invalid_grant`) or its new ID
   * token is not acceptable, the session is destroyed; other failures (IdP
   * down, no refresh token) leave it as it was. Without a session: 401.
   * A grant still at an IdP that did not answer in time is never doubled: 503
   * `FST_OIDC_REFRESH_PENDING` until it settles (see `RefreshFlight`).
   */
  async refresh (): Promise<SessionPayload> {
    if (!await this.load()) throw new OidcUnauthenticatedError()
    const current = this.#payload!
    const request = this.#request
    try {
      const { payload, stored } = await this.#flight(current).wait()
      // A request that joined another's refresh takes its result, so it never writes back the old tokens.
      if (request.session.oidc !== stored) {
        keepExpiry(request)
        request.session.set('oidc', stored)
      }
      this.#payload = payload
      return payload
    } catch (err) {
      const reason = reasonOf(err, 'refresh_error')
      if (reason === 'invalid_grant' || reason === 'session_ended' || reason.startsWith('id_token_')) await this.logout()
      throw err
    }
  }

  /**
   * The refresh to wait for: this process's flight for the session, joined or
   * started — unless a grant of the session is still at a slow IdP (as the
   * session says, for every instance, or this process's overdue flight): then 503
   * `FST_OIDC_REFRESH_PENDING` with `Retry-After`, an event (`refresh_pending`), no IdP call.
   */
  #flight (current: SessionPayload): Flight<RefreshResult> {
    const { flights, audit, waitMs } = this.#runtime
    const request = this.#request
    let until = pendingUntil(request.session.oidc)
    if (until === 0) {
      const flight = flights.join(request.session.sessionId, current.tokens.accessToken, () => new RefreshFlight(this.#runtime, request, current))
      if (flight.pendingUntil === undefined) return flight
      until = flight.pendingUntil
    }
    audit(request, 'refresh_failure', { ...identityOf(current), reason: 'refresh_pending' })
    throw refreshPendingError(until, waitMs)
  }

  /** `fetch` with the user's access token (or one exchanged for the downstream), to allow-listed origins only (see lib/downstream.ts). */
  async fetch (url: string | URL, init?: RequestInit): Promise<Response> {
    return await forwardFetch(this.#forwarding(), url, init)
  }

  /** Tracing headers, plus the `authorization` header when `url` is allow-listed (see lib/downstream.ts). */
  async forwardHeaders (url?: string | URL, method?: string): Promise<Record<string, string>> {
    return await forwardHeaders(this.#forwarding(), url, method)
  }

  #forwarding (): Forwarding {
    const { downstreams, downstreamExchanges } = this.#runtime.config
    const renewal = sessionRenewal(this)
    return {
      accessToken: async (target) => await this.#tokenFor(target),
      renew: async (refused, target) => this.#exchangeOf(target) === undefined ? await renewal(refused) : await this.#tokenFor(target, refused),
      incoming: this.#request.headers,
      downstreams: [...downstreams, ...downstreamExchanges.map((e) => e.origin)],
      dpop: async () => {
        const key = this.#payload?.tokens.dpopKey
        return key === undefined ? undefined : await dpopHandle(key)
      }
    }
  }

  #exchangeOf (target: URL): ResolvedExchange | undefined {
    return this.#runtime.config.downstreamExchanges.find((e) => e.origin === target.origin)
  }

  /**
   * The token for `target`: the user's access token (refreshed first when about to
   * expire) or, for a downstream declared with an exchange, the session's token for
   * it — exchanged at the IdP when there is none still valid (or the downstream
   * refused it): once per session and downstream even under concurrent calls.
   */
  async #tokenFor (target: URL, refused?: string): Promise<string> {
    const subject = await this.accessToken()
    const exchange = this.#exchangeOf(target)
    if (exchange === undefined) return subject
    const runtime = this.#runtime
    const request = this.#request
    const current = this.#payload!
    const cached = cachedExchange(current, exchange, runtime.config.refreshLeeway, refused)
    if (cached !== undefined) return cached
    // Joined by the calls that replace the same token (none yet, expired, or refused) from the same user token.
    const replaced = refused ?? current.exchanged?.[exchange.origin]?.accessToken ?? ''
    const flight = runtime.exchangeFlights.join(`${request.session.sessionId}\n${exchange.origin}`, `${subject}\n${replaced}`,
      () => startExchange(runtime, request, current, exchange, refused))
    const { token, payload, stored } = await flight.wait()
    if (stored !== undefined) {
      // A call that joined another request's exchange takes its session, so it never writes back the old one.
      if (request.session.oidc !== stored) {
        keepExpiry(request)
        request.session.set('oidc', stored)
      }
      this.#payload = payload
    }
    return token
  }

  /** Forgets the user: destroys the server-side session. */
  async logout (): Promise<void> {
    this.#payload = null
    this.#via = null
    this.#ended = true
    if (this.#request.session?.oidc !== undefined) await this.#request.session.destroy()
  }

  /** True once `logout` ended the session in this request: its cookie is then cleared. */
  get ended (): boolean {
    return this.#ended
  }
}
