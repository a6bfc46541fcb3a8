import type { FastifyReply, FastifyRequest } from 'fastify'
import { OidcDownstreamOriginDeniedError, OidcUnauthenticatedError } from '../errors.js'
import type { OidcClaims, OidcRequestContext } from '../contract.js'

/**
 * `request.oidc` of a caller authenticated with HTTP Basic credentials by the
 * application's `authenticate`: its `sub`, claims and roles. Such a caller has
 * no access token: `accessToken()` is 401 and nothing is forwarded.
 */
export class BasicContext implements OidcRequestContext {
  readonly user: OidcClaims
  readonly #roles: readonly string[]

  constructor (sub: string, roles: readonly string[], claims: Record<string, unknown>) {
    this.user = Object.freeze({ ...claims, sub })
    this.#roles = Object.freeze([...roles])
  }

  get via (): 'basic' {
    return 'basic'
  }

  /** A new list on each read. */
  get roles (): string[] {
    return [...this.#roles]
  }

  get scopes (): string[] {
    return []
  }

  get expiresAt (): null {
    return null
  }

  /** A Basic caller has no session to log in to (see the relying-party plugin's `request.oidc.login`). */
  async login (): Promise<void> {
    throw new TypeError('request.oidc.login() needs a session: this request was authenticated with Basic credentials')
  }

  isAuthenticated (): boolean {
    return true
  }

  async accessToken (): Promise<string> {
    throw new OidcUnauthenticatedError()
  }

  async fetch (): Promise<Response> {
    throw new OidcDownstreamOriginDeniedError('a Basic caller has no token to forward')
  }

  /** Tracing-free `{}` without a URL; with one, `FST_OIDC_DOWNSTREAM_ORIGIN_DENIED`. */
  async forwardHeaders (url?: string | URL): Promise<Record<string, string>> {
    if (url !== undefined) throw new OidcDownstreamOriginDeniedError('a Basic caller has no token to forward')
    return {}
  }
}

/** Verifies the Basic credentials of a request that carries some (`hasBasicCredentials`): the caller, or a thrown refusal. */
export type BasicAuthenticator = (request: FastifyRequest, reply: FastifyReply) => Promise<BasicContext>
