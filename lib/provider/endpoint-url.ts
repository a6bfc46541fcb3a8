/**
 * Endpoint URLs are kept as the absolute URLs the IdP advertised or the
 * configuration gave: never rebuilt from a path and an origin, since
 * `new URL('//api/oidc/auth', origin)` reads `api` as a host (glewlwyd with
 * Debian's default `external_url` advertises `http://localhost:4593//api/oidc/auth`).
 */

/**
 * `endpoint` with its origin replaced by `to` when that origin is `from`
 * (split-horizon deployments: public and cluster-internal hosts); the path,
 * query and fragment stay exactly as parsed, `//` included. Any other
 * endpoint is returned unchanged.
 *
 * @example
 * swapOrigin('https://idp.example.com//api/oidc/token', 'https://idp.example.com', 'http://idp.internal:8080')
 * // 'http://idp.internal:8080//api/oidc/token'
 */
export function swapOrigin (endpoint: string, from: string, to: string): string {
  const url = new URL(endpoint)
  return url.origin === from ? `${to}${url.pathname}${url.search}${url.hash}` : endpoint
}

/** `https://idp/realms/x` -> `https://idp/realms/x/.well-known/openid-configuration`. */
export function discoveryDocumentUrl (base: string): string {
  return `${base.replace(/\/+$/, '')}/.well-known/openid-configuration`
}
