import type { FastifyInstance } from 'fastify'
import oauth2Plugin from '@fastify/oauth2'
import type { ResolvedConfig } from '../config.js'
import type { ProviderInfo } from './discovery.js'

/** The simple-oauth2 `AuthorizationCode` client that `@fastify/oauth2` builds. */
export interface OAuth2Mechanics {
  authorizeURL (params: Record<string, string>): string
  getToken (params: Record<string, string>, httpOptions?: Record<string, unknown>): Promise<OAuth2AccessToken>
  createToken (token: Record<string, unknown>): OAuth2AccessToken
}
export interface OAuth2AccessToken {
  token: Record<string, unknown>
  refresh (params?: Record<string, string>, httpOptions?: Record<string, unknown>): Promise<OAuth2AccessToken>
  revoke (tokenType: 'access_token' | 'refresh_token', httpOptions?: Record<string, unknown>): Promise<unknown>
}

/**
 * Registers `@fastify/oauth2` for one provider inside an encapsulated context
 * (no decorator leaks into the app) with explicit endpoints — which supports
 * overrides and split public/internal hosts — and hands back its OAuth 2 client.
 * Its own state and PKCE cookies are not used: the plugin keeps those in its
 * sealed login transaction.
 */
export async function registerOAuth2 (fastify: FastifyInstance, config: ResolvedConfig, info: ProviderInfo): Promise<OAuth2Mechanics> {
  const authorize = new URL(info.endpoints.authorization)
  const token = new URL(info.endpoints.token)
  const methods = info.metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic']
  const useBasic = config.clientSecret !== undefined && methods.includes('client_secret_basic')
  const name = `oidcOAuth2_${config.providerName}`
  let mechanics: OAuth2Mechanics | undefined

  await fastify.register(async (child) => {
    await child.register(oauth2Plugin, {
      name,
      callbackUri: config.redirectUri,
      scope: config.scope.split(/\s+/),
      pkce: 'S256',
      credentials: {
        client: config.clientSecret === undefined
          // A public client must send no client_secret at all (Entra ID refuses even an empty one):
          // simple-oauth2 always writes the secret parameter, so it is pointed at client_id with the same value.
          ? { id: config.clientId, secret: config.clientId, secretParamName: 'client_id' }
          : { id: config.clientId, secret: config.clientSecret },
        auth: {
          authorizeHost: authorize.origin,
          authorizePath: `${authorize.pathname}${authorize.search}`,
          tokenHost: token.origin,
          tokenPath: `${token.pathname}${token.search}`,
          revokePath: info.endpoints.revocation ?? token.href
        },
        options: { authorizationMethod: useBasic ? 'header' : 'body' },
        http: { timeout: config.httpTimeout, redirects: 0 }
      }
    })
    mechanics = (child as unknown as Record<string, { oauth2: OAuth2Mechanics }>)[name]!.oauth2
  })
  return mechanics!
}
