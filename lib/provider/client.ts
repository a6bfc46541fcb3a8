import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ResolvedConfig } from '../config.js'
import type { OidcDownstreamExchange } from '../downstream-config.js'
import {
  OidcCallbackMalformedError, OidcIdpError, OidcIdpResponseError, OidcIssuerMismatchError, OidcLogoutTokenInvalidError, OidcNoRefreshTokenError,
  OidcProviderMismatchError, OidcRedirectUriError, OidcRefreshFailedError, OidcStateMismatchError, OidcStateMissingError, OidcStateReplayedError
} from '../errors.js'
import { foreignText } from '../escape.js'
import { safeReturnTo } from '../return-to.js'
import { randomToken, type LoginTransaction, type RetryLogin, type TransactionCookies } from '../session/transaction.js'
import { userClaims, verifyIdToken } from '../tokens/id-token.js'
import { claimsOf, sameSubject } from '../tokens/refreshed-claims.js'
import { verifyLogoutToken, type LogoutRequest } from '../tokens/logout-token.js'
import { parseTokenResponse } from '../tokens/token-response.js'
import { checkLoginStepUp, parseStepUpParams, type StepUpRequirement } from '../tokens/step-up.js'
import type { AuthorizeParams, OidcClient } from './types.js'
import type { OidcClaims, OidcDpopKey, OidcLoginResult, OidcTokenSet } from '../contract.js'
import { isOAuthErrorCode, oauthErrorOf, translateIdpError, withReason } from '../idp-errors.js'
import { invalidClientHint } from './client-auth.js'
import { revokeWith, type ClientCredentials } from './client-credentials.js'
import type { Discovered, ProviderConnection } from './connection.js'
import { namesIssuer } from './issuer.js'
import { parAuthorizeUrl, pushAuthorizationRequest } from './par.js'
import { logoutUrl } from './logout-url.js'
import type { ResolvedProvider } from './provider-config.js'
import { exchangeToken, type ExchangedToken } from './token-exchange.js'
import { sendGrant } from './token-grant.js'
import { dpopHandle, generateDpopKey } from '../tokens/dpop-key.js'
import { fetchUserinfo } from './userinfo.js'

export interface ClientDeps {
  /** The shared settings (base URL, time-out, clock tolerance). */
  config: ResolvedConfig
  connection: ProviderConnection
  transactions: TransactionCookies
}

/** Authorization request parameters the protocol owns: `extra` cannot override them. */
const RESERVED = new Set(['response_type', 'client_id', 'redirect_uri', 'state', 'nonce', 'code_challenge', 'code_challenge_method'])

/** A space-separated scope with `openid` first when it was missing. */
function withOpenid (scope: string): string {
  const scopes = scope.split(' ').filter((s) => s !== '')
  return (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' ')
}

/** The userinfo answer adds the claims the ID token lacks: the validated ID token's own always win. */
function withUserinfo (claims: OidcClaims, userinfo: OidcClaims): OidcClaims {
  return { ...userinfo, ...claims }
}

/** Reads one query parameter: a repeated parameter makes the callback malformed. */
function single (query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw withReason(new OidcCallbackMalformedError(`${name} appears more than once`), 'malformed_callback')
  return value
}

/**
 * The Authlib-style client of one provider: `authorizeRedirect` /
 * `authorizeAccessToken` / `userinfo` / `refresh` / `revoke`. OAuth 2
 * mechanics go through `@fastify/oauth2` (simple-oauth2); every OpenID Connect
 * check (state binding, RFC 9207 `iss`, nonce, ID token) is done here.
 */
export class ProviderClient implements OidcClient {
  readonly name: string
  readonly provider: ResolvedProvider
  readonly #deps: ClientDeps

  constructor (deps: ClientDeps) {
    this.#deps = deps
    this.provider = deps.connection.provider
    this.name = this.provider.name
  }

  /** The provider's discovered state, or undefined while its IdP has not been reached. */
  get discovered (): Discovered | undefined {
    return this.#deps.connection.discovered
  }

  async authorizeRedirect (request: FastifyRequest, reply: FastifyReply, params: AuthorizeParams = {}): Promise<FastifyReply> {
    const { config, connection, transactions } = this.#deps
    const { provider } = this
    const redirectUri = this.#redirectUri(params.redirectUri)
    const { oauth2, par, credentials, info } = connection.current()
    const extra = Object.fromEntries(Object.entries(params.extra ?? {}).filter(([name]) => !RESERVED.has(name)))
    // A max_age or acr_values the plugin could not enforce (not whole seconds, not acr values) is not asked for.
    const { acr, maxAge } = parseStepUpParams(extra['acr_values'], extra['max_age'])
    if (maxAge === undefined) delete extra['max_age']
    if (acr === undefined) delete extra['acr_values']
    else extra['acr_values'] = acr.join(' ')
    // An OpenID Connect request always carries the openid scope (OIDC Core 3.1.2.1); GitHub's scopes are its own.
    if (extra['scope'] !== undefined && !provider.oauth2Only) extra['scope'] = withOpenid(extra['scope'])
    const transaction: LoginTransaction = {
      state: randomToken(),
      nonce: randomToken(),
      codeVerifier: randomToken(),
      returnTo: safeReturnTo(params.returnTo, config.baseUrl),
      provider: this.name
    }
    if (maxAge !== undefined) transaction.maxAge = maxAge
    if (acr !== undefined) transaction.acr = [...acr]
    if (typeof params.subject === 'string') transaction.subject = params.subject
    if (extra['scope'] !== undefined) transaction.scope = extra['scope']
    if (redirectUri !== provider.redirectUri) transaction.redirectUri = redirectUri
    let url = oauth2.authorizeURL({
      scope: provider.scope,
      ...provider.authorizeParams,
      ...extra,
      redirect_uri: redirectUri,
      state: transaction.state,
      // No ID token from an OAuth 2 only provider: nothing would carry the nonce back.
      ...(provider.oauth2Only ? {} : { nonce: transaction.nonce }),
      code_challenge: createHash('sha256').update(transaction.codeVerifier).digest('base64url'),
      code_challenge_method: 'S256'
    })
    // RFC 9126: the same parameters go to the PAR endpoint; the browser carries only client_id and request_uri.
    if (par !== undefined) url = parAuthorizeUrl(info.endpoints.authorization, provider.clientId, await this.#push(request, credentials, new URL(url).searchParams))
    await transactions.write(request, reply, transaction)
    reply.header('cache-control', 'no-store')
    return reply.redirect(url, 302)
  }

  async authorizeAccessToken (request: FastifyRequest, reply: FastifyReply): Promise<OidcLoginResult> {
    const { connection, transactions } = this.#deps
    const { provider } = this
    // Before the state is consumed: once the provider is back, the same answer can still complete the login.
    const { info, oauth2, credentials, dpop } = connection.current()
    const query = request.query as Record<string, unknown>
    const state = single(query, 'state')
    const error = single(query, 'error')
    // An answer without state is not bound to a login of this browser: nothing of it is shown.
    if (state === undefined) throw withReason(new OidcStateMissingError(), 'state_missing')
    const taken = await transactions.take(request, reply, state)
    if (!taken.ok) {
      throw taken.reason === 'state_replayed'
        ? Object.assign(withReason(new OidcStateReplayedError(), 'state_replayed'), { retryLogin: taken.retry })
        : withReason(new OidcStateMismatchError(), 'state_mismatch')
    }
    const { transaction } = taken
    // Mix-up defence (RFC 9700 4.4): each provider has its own redirect URI, and a login completes only at its own.
    if (transaction.provider !== this.name) throw withReason(new OidcProviderMismatchError(), 'provider_mismatch')
    const iss = single(query, 'iss')
    if (iss !== undefined && !namesIssuer(info.issuer, provider.issuerAliases, iss)) throw withReason(new OidcIssuerMismatchError('it names another issuer'), 'iss_mismatch')
    if (iss === undefined && info.metadata.authorization_response_iss_parameter_supported === true) {
      throw withReason(new OidcIssuerMismatchError('it is missing although the provider advertises it'), 'iss_missing')
    }
    if (error !== undefined) throw this.#idpError(error, query)
    const code = single(query, 'code')
    if (code === undefined || code === '') throw withReason(new OidcCallbackMalformedError('no code'), 'malformed_callback')

    let response: Record<string, unknown>
    // DPoP: the session's own key, made now; the tokens are bound to it (and it is sealed with them).
    const dpopKey = dpop === undefined ? undefined : await generateDpopKey(dpop)
    try {
      const grant = { grant_type: 'authorization_code', code, redirect_uri: transaction.redirectUri ?? provider.redirectUri, code_verifier: transaction.codeVerifier } as const
      response = await sendGrant(grant, { oauth2, credentials, httpTimeout: this.#deps.config.httpTimeout, dpopKey })
    } catch (err) {
      // The usual set-up mistake (a confidential client without its secret, or the wrong method): say which setting to fix.
      if (oauthErrorOf(err) === 'invalid_client') request.log.error({ provider: this.name }, invalidClientHint(provider, credentials.method))
      throw translateIdpError(err, 'token')
    }
    const tokens = this.#tokens(response, { requestedScope: transaction.scope ?? provider.scope, dpopKey })
    const done = (claims: OidcClaims, stepUp: StepUpRequirement | undefined): OidcLoginResult =>
      ({ tokens, claims, returnTo: transaction.returnTo, provider: this.name, ...(stepUp === undefined ? {} : { stepUp }) })
    const { clockTolerance } = this.#deps.config
    // GitHub: no ID token; the user is who its API says the access token belongs to.
    if (provider.oauth2Only) return await this.userinfo(tokens.accessToken).then((user) => done(user, checkLoginStepUp(user, transaction, clockTolerance)))
    if (tokens.idToken === undefined) throw withReason(new OidcIdpResponseError('the token response has no id_token'), 'token_error')
    const claims = await this.#verify(tokens, transaction.nonce)
    // What the login asked for (acr_values, max_age, the signed-in user's sub): the ID token's own claims say.
    const stepUp = checkLoginStepUp(claims, transaction, clockTolerance)
    return done(provider.fetchUserinfo ? withUserinfo(claims, await this.userinfo(tokens)) : claims, stepUp)
  }

  /**
   * The callback of `state` failed upstream (502/504): one replay of it may start its login
   * afresh. Returns that login's `returnTo` and provider (undefined for a state never taken).
   */
  offerRetry (state: string): RetryLogin | undefined {
    return this.#deps.transactions.offerRetry(state)
  }

  async userinfo (tokens: OidcTokenSet | string): Promise<OidcClaims> {
    const { connection, config } = this.#deps
    const { info } = connection.current()
    const accessToken = typeof tokens === 'string' ? tokens : tokens.accessToken
    const expected = typeof tokens === 'string' ? undefined : claimsOf(tokens.idToken)?.sub
    const dpopKey = typeof tokens === 'string' ? undefined : tokens.dpopKey
    const dpop = dpopKey === undefined ? undefined : await dpopHandle(dpopKey)
    const body = await fetchUserinfo({ endpoint: info.endpoints.userinfo, accessToken, httpTimeout: config.httpTimeout, github: this.provider.oauth2Only, dpop })
    // OIDC Core 5.3.4: the answer is about the ID token's user, or it is not used.
    if (expected !== undefined && body.sub !== expected) {
      throw withReason(new OidcIdpResponseError('the userinfo answer is about another user'), 'userinfo_sub_mismatch')
    }
    return body
  }

  /**
   * The refresh-token grant. `httpTimeout` (default `OIDC_HTTP_TIMEOUT`) bounds the
   * token request itself: the session refresh gives it longer than its callers
   * wait, so a slow IdP's answer — with a rotated refresh token — is not thrown away.
   */
  async refresh (tokens: OidcTokenSet, previousClaims?: OidcClaims, httpTimeout = this.#deps.config.httpTimeout): Promise<{ tokens: OidcTokenSet, claims?: OidcClaims }> {
    const { connection } = this.#deps
    if (tokens.refreshToken === undefined) throw withReason(new OidcNoRefreshTokenError(), 'no_refresh_token')
    const { oauth2, credentials } = connection.current()
    const previous = previousClaims ?? claimsOf(tokens.idToken)
    // The binding follows the session: a DPoP session refreshes with its key (its refresh token may be bound to it).
    const { dpopKey } = tokens
    let response: Record<string, unknown>
    try {
      response = await sendGrant({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken }, { oauth2, credentials, httpTimeout, dpopKey })
    } catch (err) {
      throw translateIdpError(err, 'token')
    }
    const next = this.#tokens(response, { previous: tokens, requestedScope: this.provider.scope, dpopKey })
    if (next.idToken === tokens.idToken) return { tokens: next }
    const claims = await this.#verify(next, undefined)
    if (previous !== undefined && !sameSubject(claims, previous)) {
      throw withReason(new OidcRefreshFailedError('the refreshed ID token names another user'), 'id_token_mismatch')
    }
    return { tokens: next, claims }
  }

  async revoke (token: string, hint: 'refresh_token' | 'access_token' = 'refresh_token'): Promise<boolean> {
    const { connection, config } = this.#deps
    const { oauth2, info, credentials } = connection.current()
    if (info.endpoints.revocation === undefined) return false
    try {
      // simple-oauth2 cannot add an assertion to a revocation request: oauth4webapi sends it.
      if (credentials.method === 'private_key_jwt') await revokeWith(credentials, token, hint)
      // RFC 7009 2.2: success is HTTP 200 whatever the body (usually empty, not JSON): `json: true`
      // overrides simple-oauth2's 'strict', which would reject it; JSON error bodies are still parsed.
      else await oauth2.createToken({ [hint]: token }).revoke(hint, { timeout: config.httpTimeout, json: true })
    } catch (err) {
      throw translateIdpError(err, 'revocation')
    }
    return true
  }

  /** Validates a back-channel logout token from this provider (see `verifyLogoutToken`). */
  async verifyLogoutToken (token: string): Promise<LogoutRequest> {
    const { config, connection } = this.#deps
    const { keys, algorithms, info } = connection.current()
    if (keys === undefined) throw withReason(new OidcLogoutTokenInvalidError('this provider sends no logout tokens'), 'logout_token_invalid')
    return await verifyLogoutToken(token, { keys: keys.keys, algorithms, issuer: info.issuer, clientId: this.provider.clientId, clockTolerance: config.clockTolerance })
  }

  /** RFC 8693: the user's access token exchanged for one for a downstream (see `exchangeToken`); bound to `dpopKey` when given. */
  async exchangeToken (subjectToken: string, target: OidcDownstreamExchange, dpopKey?: OidcDpopKey): Promise<ExchangedToken> {
    const dpop = dpopKey === undefined ? undefined : { handle: await dpopHandle(dpopKey), httpTimeout: this.#deps.config.httpTimeout }
    return await exchangeToken(this.#deps.connection.current().credentials, subjectToken, target, dpop)
  }

  /** Where the browser goes at logout (see `logoutUrl`). */
  logoutUrl (idToken?: string): string {
    return logoutUrl(this.provider, this.#deps.connection.discovered?.info.endpoints.endSession, idToken)
  }

  /** The redirect URI to send: the built-in callback, or one the app declared (anything else is refused, before any redirect). */
  #redirectUri (requested: string | undefined): string {
    const { baseUrl, redirectUris } = this.#deps.config
    if (requested === undefined) return this.provider.redirectUri
    const href = typeof requested === 'string' && URL.canParse(requested, baseUrl) ? new URL(requested, baseUrl).href : undefined
    if (href !== undefined && (href === this.provider.redirectUri || redirectUris.includes(href))) return href
    throw new OidcRedirectUriError(JSON.stringify(String(requested).slice(0, 100)))
  }

  /** A token response as a token set; an OAuth 2 only provider's `id_token`, if any, is not kept (nothing validates it). */
  #tokens (response: Record<string, unknown>, context: Parameters<typeof parseTokenResponse>[1]): OidcTokenSet {
    const tokens = parseTokenResponse(response, context)
    if (this.provider.oauth2Only) delete tokens.idToken
    return tokens
  }

  /** Pushes an authorization request; a refusal for the client's credentials is logged with the settings that fix it. */
  async #push (request: FastifyRequest, credentials: ClientCredentials, parameters: URLSearchParams): Promise<string> {
    try {
      return await pushAuthorizationRequest(credentials, parameters)
    } catch (err) {
      if ((err as { oauthError?: string }).oauthError === 'invalid_client') request.log.error({ provider: this.name }, invalidClientHint(this.provider, credentials.method, 'pushed authorization request'))
      throw err
    }
  }

  #idpError (error: string, query: Record<string, unknown>): Error {
    const code = isOAuthErrorCode(error) ? error : 'error'
    const description = foreignText(query['error_description'])
    return withReason(new OidcIdpError(description === '' ? code : `${code}: ${description}`), 'idp_error')
  }

  async #verify (tokens: OidcTokenSet, nonce: string | undefined): Promise<OidcClaims> {
    const { config, connection } = this.#deps
    const { keys, algorithms, info } = connection.current()
    return userClaims(await verifyIdToken(tokens.idToken!, {
      keys: keys!.keys,
      issuer: info.issuer,
      issuerAliases: this.provider.issuerAliases,
      clientId: this.provider.clientId,
      algorithms,
      clockTolerance: config.clockTolerance,
      ...(nonce === undefined ? {} : { nonce }),
      accessToken: tokens.accessToken
    }))
  }
}
