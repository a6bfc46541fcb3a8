import type { ProviderMetadata } from './discovery.js'
import type { ResolvedProvider } from './provider-config.js'
import { envSuffix } from './provider-config.js'
import type { OidcTokenAuthMethod } from './types.js'

/** How the client authenticates at the token endpoint. */
export type TokenAuthMethod = OidcTokenAuthMethod

/**
 * The configured method (`OIDC_TOKEN_AUTH_METHOD`, or `private_key_jwt` for a key alone); else
 * no secret: a public client (PKCE only); else `client_secret_basic` when the IdP supports it, otherwise `client_secret_post`.
 */
export function tokenAuthMethod (provider: Pick<ResolvedProvider, 'clientSecret'> & { tokenAuthMethod?: TokenAuthMethod | undefined }, metadata: Pick<ProviderMetadata, 'token_endpoint_auth_methods_supported'>): TokenAuthMethod {
  if (provider.tokenAuthMethod !== undefined) return provider.tokenAuthMethod
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
export function invalidClientHint (provider: Pick<ResolvedProvider, 'name' | 'clientId'>, method: TokenAuthMethod, endpoint = 'token'): string {
  const env = envPrefix(provider)
  const who = `oidc: the ${endpoint} endpoint of provider ${provider.name} refused the client credentials (invalid_client) for client_id ${JSON.stringify(provider.clientId)}`
  if (method === 'none') {
    return `${who}, sent as a public client (no ${env}CLIENT_SECRET is set): if the IdP registered a confidential client, set ${env}CLIENT_SECRET, and ${env}TOKEN_AUTH_METHOD to the method it expects`
  }
  if (method === 'private_key_jwt') {
    return `${who}, sent with private_key_jwt (a signed assertion, key id in ${env}CLIENT_KEY_ID or its thumbprint): check that the IdP holds the public key the plugin serves at <prefix>/jwks (or one registered by hand) for this client, and ${env}TOKEN_AUTH_METHOD`
  }
  return `${who}, sent with ${method} (${env}CLIENT_SECRET is set, not shown): check ${env}CLIENT_SECRET, and set ${env}TOKEN_AUTH_METHOD to the method the IdP registered for this client`
}

/**
 * The start-up line of one provider: the redirect URI it sends (to register at
 * the IdP), the app's own ones, and whether it is a public or a confidential
 * client (with the method, once the IdP's metadata is known).
 */
export function startLine (
  provider: Pick<ResolvedProvider, 'name' | 'clientId' | 'clientSecret' | 'redirectUri'> & Partial<Pick<ResolvedProvider, 'tokenAuthMethod' | 'clientKey'>>,
  ownRedirectUris: readonly string[],
  metadata: ProviderMetadata | undefined
): string {
  const env = envPrefix(provider)
  const kind = provider.tokenAuthMethod === 'private_key_jwt'
    ? `a confidential client (private_key_jwt, key id ${JSON.stringify(provider.clientKey?.kid)}, its public key served at <prefix>/jwks)`
    : provider.clientSecret === undefined
      ? `a public client (no ${env}CLIENT_SECRET: PKCE only)`
      : `a confidential client (${metadata === undefined ? `${env}CLIENT_SECRET is set` : tokenAuthMethod(provider, metadata)})`
  const own = ownRedirectUris.length === 0 ? '' : ` (own routes may send ${ownRedirectUris.join(', ')})`
  return `oidc: provider ${provider.name} sends redirect_uri ${provider.redirectUri}${own} for client_id ${JSON.stringify(provider.clientId)} as ${kind}`
}

/**
 * The warning for a configured method the IdP's metadata does not list
 * (`token_endpoint_auth_methods_supported`), or undefined: logins would likely
 * fail with `invalid_client`. Metadata that lists nothing says nothing.
 */
export function unlistedMethodWarning (provider: Pick<ResolvedProvider, 'name' | 'tokenAuthMethod'>, metadata: ProviderMetadata | undefined): string | undefined {
  const listed = metadata?.token_endpoint_auth_methods_supported
  const method = provider.tokenAuthMethod
  if (method === undefined || !Array.isArray(listed) || listed.includes(method)) return undefined
  return `oidc: provider ${provider.name} is configured with ${envPrefix(provider)}TOKEN_AUTH_METHOD=${method}, which its IdP's metadata does not list (${listed.join(', ')}): expect invalid_client`
}
