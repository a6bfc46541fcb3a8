import Fastify from 'fastify'
import oauth2Plugin from '@fastify/oauth2'
import { tokenAuthMethod } from './client-auth.js'
import type { ProviderInfo } from './discovery.js'
import type { ResolvedProvider } from './provider-config.js'

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
 * Registers `@fastify/oauth2` for one provider, once its endpoints are known
 * (discovery may succeed long after the app started), in a private Fastify
 * instance that only carries its decorator — no route, no decorator and no
 * server: nothing leaks into the app and nothing needs closing — with explicit endpoints, which supports overrides and split
 * public/internal hosts. Its own state and PKCE cookies are not used: the
 * plugin keeps those in its sealed login transaction.
 */
export async function createOAuth2 (provider: ResolvedProvider, httpTimeout: number, info: ProviderInfo): Promise<OAuth2Mechanics> {
  const { authorization, token } = info.endpoints
  const useBasic = tokenAuthMethod(provider, info.metadata) === 'client_secret_basic'
  const name = `oidcOAuth2_${provider.name.replace(/-/g, '_')}`
  const holder = Fastify({ logger: false })
  await holder.register(oauth2Plugin, {
    name,
    callbackUri: provider.redirectUri,
    scope: provider.scope.split(/\s+/),
    pkce: 'S256',
    credentials: {
      client: provider.clientSecret === undefined
        // A public client must send no client_secret at all (Entra ID refuses even an empty one):
        // simple-oauth2 always writes the secret parameter, so it is pointed at client_id with the same value.
        ? { id: provider.clientId, secret: provider.clientId, secretParamName: 'client_id' }
        : { id: provider.clientId, secret: provider.clientSecret },
      // The endpoints as the absolute URLs they are: simple-oauth2 and wreck resolve a "path" with
      // `new URL(path, host)`, which keeps an absolute URL as it is but would read `//api/x` as host `api`.
      auth: {
        authorizeHost: new URL(authorization).origin,
        authorizePath: authorization,
        tokenHost: new URL(token).origin,
        tokenPath: token,
        revokePath: info.endpoints.revocation ?? token
      },
      options: { authorizationMethod: useBasic ? 'header' : 'body' },
      http: { timeout: httpTimeout, redirects: 0 }
    }
  })
  await holder.ready()
  return (holder as unknown as Record<string, { oauth2: OAuth2Mechanics }>)[name]!.oauth2
}
