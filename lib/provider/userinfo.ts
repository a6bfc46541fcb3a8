import type { DPoPHandle } from 'oauth4webapi'
import { OidcIdpError, OidcIdpResponseError } from '../errors.js'
import { translateIdpError, withReason } from '../idp-errors.js'
import type { OidcClaims } from '../contract.js'
import { dpopResourceRequest } from '../tokens/dpop-request.js'

export interface UserinfoRequest {
  /** The userinfo endpoint; for GitHub, its REST API's `/user`. */
  endpoint: string | undefined
  accessToken: string
  httpTimeout: number
  /** GitHub's `/user` answer (numeric `id`, `login`, `avatar_url`) instead of OIDC userinfo. */
  github: boolean
  /** A DPoP-bound access token's key: sent as `Authorization: DPoP` with a proof (see `dpopResourceRequest`). */
  dpop?: DPoPHandle | undefined
}

/** GitHub's `/user` fields as OIDC standard claims; `sub` is the numeric id, which never changes (the login may). */
const GITHUB_CLAIMS: Array<[string, string]> = [['preferred_username', 'login'], ['name', 'name'], ['email', 'email'], ['picture', 'avatar_url'], ['profile', 'html_url']]

function githubClaims (user: Record<string, unknown>): Record<string, unknown> {
  if (typeof user['id'] !== 'number') return {}
  const claims: Record<string, unknown> = { sub: String(user['id']) }
  for (const [claim, field] of GITHUB_CLAIMS) if (typeof user[field] === 'string') claims[claim] = user[field]
  return claims
}

/**
 * Fetches userinfo with the access token in the `Authorization: Bearer` header
 * (`DPoP` with a proof for a DPoP-bound token; never the query string), without following redirects, within the time-out.
 * 401 from the IdP: `FST_OIDC_IDP_ERROR`; anything unusable, or an answer
 * without `sub`: `FST_OIDC_IDP_BAD_RESPONSE`; time-out: `FST_OIDC_IDP_TIMEOUT`.
 */
export async function fetchUserinfo ({ endpoint, accessToken, httpTimeout, github, dpop }: UserinfoRequest): Promise<OidcClaims> {
  if (endpoint === undefined) throw withReason(new OidcIdpResponseError('the provider has no userinfo endpoint'), 'userinfo_error')
  let body: unknown
  try {
    // GitHub's API wants its media type and refuses requests without a User-Agent.
    const headers = { accept: github ? 'application/vnd.github+json' : 'application/json', 'user-agent': 'fastify-oidc' }
    const init = { signal: AbortSignal.timeout(httpTimeout), redirect: 'error' } as const
    const response = dpop === undefined
      ? await fetch(endpoint, { ...init, headers: { ...headers, authorization: `Bearer ${accessToken}` } })
      : await dpopResourceRequest(dpop, accessToken, new URL(endpoint), { ...init, headers: new Headers(headers) }, true)
    if (response.status === 401) throw withReason(new OidcIdpError('the userinfo endpoint refused the access token'), 'userinfo_error')
    if (!response.ok) throw withReason(new OidcIdpResponseError(`the userinfo endpoint answered HTTP ${response.status}`), 'userinfo_error')
    body = await response.json()
  } catch (err) {
    throw translateIdpError(err, 'userinfo')
  }
  if (github && body !== null && typeof body === 'object') body = githubClaims(body as Record<string, unknown>)
  if (body === null || typeof body !== 'object' || typeof (body as { sub?: unknown }).sub !== 'string') {
    throw withReason(new OidcIdpResponseError('the userinfo answer has no sub'), 'userinfo_error')
  }
  return body as OidcClaims
}
