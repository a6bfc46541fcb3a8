import type { ResolvedProvider } from './provider-config.js'

/**
 * Where the browser goes at logout: the end-session endpoint with
 * `id_token_hint`, `post_logout_redirect_uri` and `client_id`; for Auth0
 * without one, its `/v2/logout?client_id=&returnTo=`; otherwise (Google,
 * GitHub, a provider not discovered yet) straight to the post-logout URI: the
 * logout is local.
 */
export function logoutUrl (provider: ResolvedProvider, endSession: string | undefined, idToken?: string): string {
  if (endSession === undefined) {
    if (provider.auth0LogoutOrigin === undefined) return provider.postLogoutRedirectUri
    const url = new URL('/v2/logout', provider.auth0LogoutOrigin)
    url.searchParams.set('client_id', provider.clientId)
    url.searchParams.set('returnTo', provider.postLogoutRedirectUri)
    return url.href
  }
  const url = new URL(endSession)
  if (idToken !== undefined) url.searchParams.set('id_token_hint', idToken)
  url.searchParams.set('post_logout_redirect_uri', provider.postLogoutRedirectUri)
  url.searchParams.set('client_id', provider.clientId)
  return url.href
}
