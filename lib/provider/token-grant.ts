import type { OidcDpopKey } from '../contract.js'
import { dpopHandle } from '../tokens/dpop-key.js'
import type { ClientCredentials } from './client-credentials.js'
import { dpopTokenRequest } from './dpop.js'
import type { OAuth2Mechanics } from './oauth2.js'

/** The authorization code grant's parameters, or the refresh-token grant's. */
export type Grant =
  | { grant_type: 'authorization_code', code: string, redirect_uri: string, code_verifier: string }
  | { grant_type: 'refresh_token', refresh_token: string }

/** What a grant is sent with: the provider's OAuth 2 mechanics and client credentials, the time-out, and the session's DPoP key if any. */
export interface GrantContext {
  oauth2: OAuth2Mechanics
  credentials: ClientCredentials
  httpTimeout: number
  dpopKey: OidcDpopKey | undefined
}

/**
 * Sends the code or refresh grant (the code grant within the time-out `@fastify/oauth2`
 * was registered with, `OIDC_HTTP_TIMEOUT`; the refresh within `httpTimeout`) and resolves to the token endpoint's JSON answer.
 * Without DPoP it goes through `@fastify/oauth2` (simple-oauth2) with the client's
 * credentials (`private_key_jwt`'s assertion as body parameters); with a DPoP key,
 * through oauth4webapi, which signs the proof (and answers a `use_dpop_nonce`).
 * Failures are thrown as the library raised them (see `translateIdpError`).
 */
export async function sendGrant (grant: Grant, context: GrantContext): Promise<Record<string, unknown>> {
  const { oauth2, credentials, httpTimeout, dpopKey } = context
  if (dpopKey !== undefined) {
    const { grant_type: type, ...parameters } = grant
    const response = await dpopTokenRequest(credentials, await dpopHandle(dpopKey), type, parameters, httpTimeout)
    return await response.json() as Record<string, unknown>
  }
  if (grant.grant_type === 'refresh_token') {
    return (await oauth2.createToken({ refresh_token: grant.refresh_token }).refresh(await credentials.bodyParams(), { timeout: httpTimeout })).token
  }
  const { grant_type: _type, ...parameters } = grant
  return (await oauth2.getToken({ ...parameters, ...await credentials.bodyParams() })).token
}
