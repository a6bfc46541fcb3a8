import type { ProviderMetadata } from './discovery.js'
import type { ResolvedProvider } from './provider-config.js'
import { envSuffix } from './provider-config.js'

/** How the client authenticates at the token endpoint. */
export type TokenAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post'

/** No secret: a public client (PKCE only); else `client_secret_basic` when the IdP supports it, otherwise `client_secret_post`. */
export function tokenAuthMethod (provider: Pick<ResolvedProvider, 'clientSecret'>, metadata: Pick<ProviderMetadata, 'token_endpoint_auth_methods_supported'>): TokenAuthMethod {
  if (provider.clientSecret === undefined) return 'none'
  const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic']
  return methods.includes('client_secret_basic') ? 'client_secret_basic' : 'client_secret_post'
}

/** `OIDC_` for the single provider (`default`), `OIDC_<NAME>_` for one of several: the env vars that configure it. */
export function envPrefix (provider: Pick<ResolvedProvider, 'name'>): string {
  return provider.name === 'default' ? 'OIDC_' : `OIDC_${envSuffix(provider.name)}_`
}

/**
 * The log line for an `invalid_client` answer of the token endpoint: what the
 * client sent (never the secret) and the settings that fix it.
 */
export function invalidClientHint (provider: Pick<ResolvedProvider, 'name' | 'clientId'>, method: TokenAuthMethod): string {
  const env = envPrefix(provider)
  const who = `oidc: the token endpoint of provider ${provider.name} refused the client credentials (invalid_client) for client_id ${JSON.stringify(provider.clientId)}`
  return method === 'none'
    ? `${who}, sent as a public client (no ${env}CLIENT_SECRET is set): if the IdP registered a confidential client, set ${env}CLIENT_SECRET, and ${env}TOKEN_AUTH_METHOD to the method it expects`
    : `${who}, sent with ${method} (${env}CLIENT_SECRET is set, not shown): check ${env}CLIENT_SECRET, and set ${env}TOKEN_AUTH_METHOD to the method the IdP registered for this client`
}

/**
 * The start-up line of one provider: the redirect URI it sends (to register at
 * the IdP), the app's own ones, and whether it is a public or a confidential
 * client (with the method, once the IdP's metadata is known).
 */
export function startLine (provider: Pick<ResolvedProvider, 'name' | 'clientId' | 'clientSecret' | 'redirectUri'>, ownRedirectUris: readonly string[], metadata: ProviderMetadata | undefined): string {
  const env = envPrefix(provider)
  const kind = provider.clientSecret === undefined
    ? `a public client (no ${env}CLIENT_SECRET: PKCE only)`
    : `a confidential client (${metadata === undefined ? `${env}CLIENT_SECRET is set` : tokenAuthMethod(provider, metadata)})`
  const own = ownRedirectUris.length === 0 ? '' : ` (own routes may send ${ownRedirectUris.join(', ')})`
  return `oidc: provider ${provider.name} sends redirect_uri ${provider.redirectUri}${own} for client_id ${JSON.stringify(provider.clientId)} as ${kind}`
}
