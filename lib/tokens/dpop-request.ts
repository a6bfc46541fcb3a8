import * as oauth from 'oauth4webapi'

/**
 * A request to a protected resource with `Authorization: DPoP <token>` and a fresh
 * proof of `handle` (`htm`, `htu` without query and fragment, `iat`, `jti`, `ath`),
 * redirects not followed. A 401 `use_dpop_nonce` challenge (RFC 9449 section 9) is
 * answered once with the nonce the resource sent, when `replayable` (its body can
 * be sent again); any other answer, challenges included, is returned as it is.
 */
export async function dpopResourceRequest (
  handle: oauth.DPoPHandle, accessToken: string, url: URL, init: RequestInit & { method?: string, headers: Headers }, replayable: boolean
): Promise<Response> {
  const { method = 'GET', headers, body } = init
  const fetchWithInit = async (href: string, options: RequestInit): Promise<Response> => await fetch(href, { ...init, ...options })
  for (let attempt = 1; ; attempt++) {
    try {
      return await oauth.protectedResourceRequest(accessToken, method, url, headers, (body ?? null) as oauth.ProtectedResourceRequestBody, {
        DPoP: handle, [oauth.customFetch]: fetchWithInit, [oauth.allowInsecureRequests]: true, signal: init.signal ?? undefined
      })
    } catch (err) {
      if (!(err instanceof oauth.WWWAuthenticateChallengeError)) throw err
      if (attempt === 1 && replayable && err.status === 401 && oauth.isDPoPNonceError(err)) {
        await err.response.body?.cancel().catch(() => {})
        continue
      }
      return err.response
    }
  }
}
