import { importJWK, type CryptoKey } from 'jose'
import * as oauth from 'oauth4webapi'
import { OidcDiscoveryError } from '../errors.js'
import { envPrefix, tokenAuthMethod, type TokenAuthMethod } from './client-auth.js'
import { pickAssertionAlg } from './client-key.js'
import type { ProviderInfo } from './discovery.js'
import type { ResolvedProvider } from './provider-config.js'

/**
 * How this client authenticates to its IdP, in `oauth4webapi`'s terms: the
 * authorization server and client metadata it needs and the `ClientAuth` of
 * the configured method. `oauth4webapi` serves where `@fastify/oauth2` cannot:
 * it builds the `private_key_jwt` assertion and sends pushed authorization
 * requests (and the revocation of a `private_key_jwt` client).
 */
export interface ClientCredentials {
  method: TokenAuthMethod
  as: oauth.AuthorizationServer
  client: oauth.Client
  auth: oauth.ClientAuth
  /** `private_key_jwt`: the JWS algorithm of the assertions. */
  alg: string | undefined
  /** Options of one oauth4webapi request: the time-out, and http allowed for the loopback / `OIDC_ALLOW_HTTP` endpoints the configuration accepted. */
  requestOptions (): { signal: AbortSignal, [oauth.allowInsecureRequests]: boolean }
  /**
   * The body parameters authenticating one request sent through `@fastify/oauth2` (simple-oauth2):
   * for `private_key_jwt`, `client_id`, `client_assertion_type` and a fresh `client_assertion`; else none.
   */
  bodyParams (): Promise<Record<string, string>>
}

/**
 * The credentials of a provider once its metadata is known. For `private_key_jwt`
 * the assertion algorithm is the first of the IdP's
 * `token_endpoint_auth_signing_alg_values_supported` the key can sign: none
 * fitting is a configuration error (`FST_OIDC_DISCOVERY_FAILED` at start-up).
 * Each assertion (RFC 7523): `iss` = `sub` = client id, `aud` = the issuer
 * (the token endpoint with the Entra ID and Okta presets), a fresh `jti`,
 * `iat`, `nbf` and `exp` 60 s later, signed by `oauth4webapi` with the key
 * `jose` imported for that algorithm.
 */
export async function clientCredentials (provider: ResolvedProvider, info: ProviderInfo, httpTimeout: number): Promise<ClientCredentials> {
  const method = tokenAuthMethod(provider, info.metadata)
  const as: oauth.AuthorizationServer = {
    issuer: info.issuer,
    token_endpoint: info.endpoints.token,
    ...(info.endpoints.revocation === undefined ? {} : { revocation_endpoint: info.endpoints.revocation }),
    ...(info.par === undefined ? {} : { pushed_authorization_request_endpoint: info.par })
  }
  const client: oauth.Client = { client_id: provider.clientId }
  let auth: oauth.ClientAuth
  let alg: string | undefined
  if (method === 'private_key_jwt') {
    const key = provider.clientKey!
    alg = pickAssertionAlg(key, info.metadata['token_endpoint_auth_signing_alg_values_supported'])
    if (alg === undefined) {
      throw new OidcDiscoveryError(`the IdP accepts assertions signed with ${String(info.metadata['token_endpoint_auth_signing_alg_values_supported'])}, which the key of ${envPrefix(provider)}CLIENT_PRIVATE_KEY cannot sign (it signs ${key.algorithms.join(', ')})`)
    }
    const cryptoKey = await importJWK({ ...key.privateJwk }, alg) as CryptoKey
    const chosen = alg
    auth = oauth.PrivateKeyJwt({ key: cryptoKey, kid: key.kid }, {
      [oauth.modifyAssertion]: (header, payload) => {
        header.alg = chosen
        if (provider.assertionAudience === 'token_endpoint') payload.aud = info.endpoints.token
        if (provider.assertionX5t) header['x5t'] = key.kid
      }
    })
  } else {
    auth = method === 'client_secret_basic'
      ? oauth.ClientSecretBasic(provider.clientSecret!)
      : method === 'client_secret_post' ? oauth.ClientSecretPost(provider.clientSecret!) : oauth.None()
  }
  return {
    method,
    as,
    client,
    auth,
    alg,
    requestOptions: () => ({ signal: AbortSignal.timeout(httpTimeout), [oauth.allowInsecureRequests]: true }),
    bodyParams: async () => {
      if (method !== 'private_key_jwt') return {}
      const body = new URLSearchParams()
      await auth(as, client, body, new Headers())
      return Object.fromEntries(body)
    }
  }
}

/** RFC 7009 revocation through oauth4webapi (for `private_key_jwt`, which simple-oauth2 cannot send); errors untranslated. */
export async function revokeWith (credentials: ClientCredentials, token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
  const { as, client, auth } = credentials
  const response = await oauth.revocationRequest(as, client, auth, token, { ...credentials.requestOptions(), additionalParameters: { token_type_hint: hint } })
  await oauth.processRevocationResponse(response)
}
