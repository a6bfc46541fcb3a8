import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { decodeJwt, type JWTVerifyGetKey } from 'jose'
import type { ResolvedConfig } from '../config.js'
import {
  OidcCallbackMalformedError, OidcIdpError, OidcIdpResponseError, OidcIssuerMismatchError, OidcNoRefreshTokenError,
  OidcRefreshFailedError, OidcStateMismatchError, OidcStateMissingError, OidcStateReplayedError
} from '../errors.js'
import { foreignText } from '../escape.js'
import { safeReturnTo } from '../return-to.js'
import { randomToken, type LoginTransaction, type TransactionCookies } from '../session/transaction.js'
import { userClaims, verifyIdToken } from '../tokens/id-token.js'
import { verifyLogoutToken, type LogoutRequest } from '../tokens/logout-token.js'
import { parseTokenResponse } from '../tokens/token-response.js'
import type { AuthorizeParams, OidcClaims, OidcClient, OidcLoginResult, OidcTokenSet } from '../types.js'
import type { ProviderInfo } from './discovery.js'
import { isOAuthErrorCode, translateIdpError, withReason } from '../idp-errors.js'
import type { OAuth2Mechanics } from './oauth2.js'

export interface ClientDeps {
  config: ResolvedConfig
  info: ProviderInfo
  oauth2: OAuth2Mechanics
  transactions: TransactionCookies
  keys: JWTVerifyGetKey
  algorithms: string[]
}

/** Authorization request parameters the protocol owns: `extra` cannot override them. */
const RESERVED = new Set(['response_type', 'client_id', 'redirect_uri', 'state', 'nonce', 'code_challenge', 'code_challenge_method'])

/**
 * The claims of a token set's ID token (validated when it was received), to
 * compare a userinfo answer or a refreshed ID token with. An ID token that
 * cannot be read fails closed: nothing is compared against garbage.
 */
function claimsOf (idToken: string | undefined): OidcClaims | undefined {
  if (idToken === undefined) return undefined
  try {
    return decodeJwt(idToken) as OidcClaims
  } catch {
    throw new TypeError('tokens.idToken is not a readable JWT')
  }
}

/** OIDC Core 12.2: a refreshed ID token must name the same user, issuer, audience and authorized party. */
function sameSubject (next: OidcClaims, previous: OidcClaims): boolean {
  const audiences = (c: OidcClaims): string => [c['aud']].flat().map(String).sort().join(' ')
  return next.sub === previous.sub && next['iss'] === previous['iss'] && audiences(next) === audiences(previous) &&
    (next['azp'] === undefined || previous['azp'] === undefined || next['azp'] === previous['azp'])
}

/** A space-separated scope with `openid` first when it was missing. */
function withOpenid (scope: string): string {
  const scopes = scope.split(' ').filter((s) => s !== '')
  return (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' ')
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
  readonly #deps: ClientDeps

  constructor (deps: ClientDeps) {
    this.#deps = deps
    this.name = deps.config.providerName
  }

  async authorizeRedirect (request: FastifyRequest, reply: FastifyReply, params: AuthorizeParams = {}): Promise<FastifyReply> {
    const { config, oauth2, transactions } = this.#deps
    const extra = Object.fromEntries(Object.entries(params.extra ?? {}).filter(([name]) => !RESERVED.has(name)))
    // A max_age the plugin could not enforce (not whole seconds) is not asked for.
    if (extra['max_age'] !== undefined && !/^\d{1,9}$/.test(extra['max_age'])) delete extra['max_age']
    // An OpenID Connect request always carries the openid scope (OIDC Core 3.1.2.1).
    if (extra['scope'] !== undefined) extra['scope'] = withOpenid(extra['scope'])
    const transaction: LoginTransaction = {
      state: randomToken(),
      nonce: randomToken(),
      codeVerifier: randomToken(),
      returnTo: safeReturnTo(params.returnTo, config.baseUrl),
      provider: this.name
    }
    if (extra['max_age'] !== undefined) transaction.maxAge = Number(extra['max_age'])
    if (extra['scope'] !== undefined) transaction.scope = extra['scope']
    const url = oauth2.authorizeURL({
      scope: config.scope,
      ...extra,
      redirect_uri: config.redirectUri,
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: createHash('sha256').update(transaction.codeVerifier).digest('base64url'),
      code_challenge_method: 'S256'
    })
    await transactions.write(request, reply, transaction)
    reply.header('cache-control', 'no-store')
    return reply.redirect(url, 302)
  }

  async authorizeAccessToken (request: FastifyRequest, reply: FastifyReply): Promise<OidcLoginResult> {
    const { config, info, oauth2, transactions } = this.#deps
    const query = request.query as Record<string, unknown>
    const state = single(query, 'state')
    const error = single(query, 'error')
    // An answer without state is not bound to a login of this browser: nothing of it is shown.
    if (state === undefined) throw withReason(new OidcStateMissingError(), 'state_missing')
    const taken = await transactions.take(request, reply, state)
    if (!taken.ok) {
      throw taken.reason === 'state_replayed'
        ? withReason(new OidcStateReplayedError(), 'state_replayed')
        : withReason(new OidcStateMismatchError(), 'state_mismatch')
    }
    const { transaction } = taken
    const iss = single(query, 'iss')
    if (iss !== undefined && iss !== config.issuer) throw withReason(new OidcIssuerMismatchError('it names another issuer'), 'iss_mismatch')
    if (iss === undefined && info.metadata.authorization_response_iss_parameter_supported === true) {
      throw withReason(new OidcIssuerMismatchError('it is missing although the provider advertises it'), 'iss_missing')
    }
    if (error !== undefined) throw this.#idpError(error, query)
    const code = single(query, 'code')
    if (code === undefined || code === '') throw withReason(new OidcCallbackMalformedError('no code'), 'malformed_callback')

    let response: Record<string, unknown>
    try {
      response = (await oauth2.getToken({ code, redirect_uri: config.redirectUri, code_verifier: transaction.codeVerifier })).token
    } catch (err) {
      throw translateIdpError(err, 'token')
    }
    const tokens = parseTokenResponse(response, { requestedScope: transaction.scope ?? config.scope })
    if (tokens.idToken === undefined) throw withReason(new OidcIdpResponseError('the token response has no id_token'), 'token_error')
    const claims = await this.#verify(tokens, transaction.nonce, transaction.maxAge)
    return { tokens, claims, returnTo: transaction.returnTo, provider: this.name }
  }

  async userinfo (tokens: OidcTokenSet | string): Promise<Record<string, unknown>> {
    const { info, config } = this.#deps
    const accessToken = typeof tokens === 'string' ? tokens : tokens.accessToken
    const expected = typeof tokens === 'string' ? undefined : claimsOf(tokens.idToken)?.sub
    if (info.endpoints.userinfo === undefined) throw withReason(new OidcIdpResponseError('the provider has no userinfo endpoint'), 'userinfo_error')
    let body: unknown
    try {
      const response = await fetch(info.endpoints.userinfo, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(config.httpTimeout),
        redirect: 'error'
      })
      if (response.status === 401) throw withReason(new OidcIdpError('the userinfo endpoint refused the access token'), 'userinfo_error')
      if (!response.ok) throw withReason(new OidcIdpResponseError(`the userinfo endpoint answered HTTP ${response.status}`), 'userinfo_error')
      body = await response.json()
    } catch (err) {
      throw translateIdpError(err, 'userinfo')
    }
    if (body === null || typeof body !== 'object' || typeof (body as { sub?: unknown }).sub !== 'string') {
      throw withReason(new OidcIdpResponseError('the userinfo answer has no sub'), 'userinfo_error')
    }
    // OIDC Core 5.3.4: the answer is about the ID token's user, or it is not used.
    if (expected !== undefined && (body as { sub: string }).sub !== expected) {
      throw withReason(new OidcIdpResponseError('the userinfo answer is about another user'), 'userinfo_sub_mismatch')
    }
    return body as Record<string, unknown>
  }

  async refresh (tokens: OidcTokenSet, previousClaims?: OidcClaims): Promise<{ tokens: OidcTokenSet, claims?: OidcClaims }> {
    const { oauth2, config } = this.#deps
    if (tokens.refreshToken === undefined) throw withReason(new OidcNoRefreshTokenError(), 'no_refresh_token')
    const previous = previousClaims ?? claimsOf(tokens.idToken)
    let response: Record<string, unknown>
    try {
      response = (await oauth2.createToken({ refresh_token: tokens.refreshToken }).refresh({}, { timeout: config.httpTimeout })).token
    } catch (err) {
      throw translateIdpError(err, 'token')
    }
    const next = parseTokenResponse(response, { previous: tokens, requestedScope: config.scope })
    if (next.idToken === tokens.idToken) return { tokens: next }
    const claims = await this.#verify(next, undefined)
    if (previous !== undefined && !sameSubject(claims, previous)) {
      throw withReason(new OidcRefreshFailedError('the refreshed ID token names another user'), 'id_token_mismatch')
    }
    return { tokens: next, claims }
  }

  async revoke (token: string, hint: 'refresh_token' | 'access_token' = 'refresh_token'): Promise<boolean> {
    const { oauth2, info, config } = this.#deps
    if (info.endpoints.revocation === undefined) return false
    try {
      // RFC 7009 2.2: success is HTTP 200 whatever the body (usually empty, not JSON): `json: true`
      // overrides simple-oauth2's 'strict', which would reject it; JSON error bodies are still parsed.
      await oauth2.createToken({ [hint]: token }).revoke(hint, { timeout: config.httpTimeout, json: true })
    } catch (err) {
      throw translateIdpError(err, 'revocation')
    }
    return true
  }

  /** Validates a back-channel logout token from this provider (see `verifyLogoutToken`). */
  async verifyLogoutToken (token: string): Promise<LogoutRequest> {
    const { config, keys, algorithms } = this.#deps
    return await verifyLogoutToken(token, { keys, algorithms, issuer: config.issuer, clientId: config.clientId, clockTolerance: config.clockTolerance })
  }

  logoutUrl (idToken?: string): string {
    const { info, config } = this.#deps
    if (info.endpoints.endSession === undefined) return config.postLogoutRedirectUri
    const url = new URL(info.endpoints.endSession)
    if (idToken !== undefined) url.searchParams.set('id_token_hint', idToken)
    url.searchParams.set('post_logout_redirect_uri', config.postLogoutRedirectUri)
    url.searchParams.set('client_id', config.clientId)
    return url.href
  }

  #idpError (error: string, query: Record<string, unknown>): Error {
    const code = isOAuthErrorCode(error) ? error : 'error'
    const description = foreignText(query['error_description'])
    return withReason(new OidcIdpError(description === '' ? code : `${code}: ${description}`), 'idp_error')
  }

  async #verify (tokens: OidcTokenSet, nonce: string | undefined, maxAuthAge?: number): Promise<OidcClaims> {
    const { config, keys, algorithms } = this.#deps
    return userClaims(await verifyIdToken(tokens.idToken!, {
      keys,
      issuer: config.issuer,
      clientId: config.clientId,
      algorithms,
      clockTolerance: config.clockTolerance,
      ...(nonce === undefined ? {} : { nonce }),
      ...(maxAuthAge === undefined ? {} : { maxAuthAge }),
      accessToken: tokens.accessToken
    }))
  }
}
