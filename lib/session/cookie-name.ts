/** The session cookie's name and domain. */
export interface SessionCookie {
  name: string
  /** `Domain` of the session cookie; `undefined`: host-only. */
  domain: string | undefined
}

const NAME = /^[\w.-]+$/
const DOMAIN = /^\.?[a-z0-9-]+(?:\.[a-z0-9-]+)*$/i

/**
 * The session cookie's name and domain (`cookieName` / `OIDC_COOKIE_NAME`,
 * `cookieDomain` / `OIDC_COOKIE_DOMAIN`). On an https base URL without a domain
 * the default name is `__Host-oidc.sid`: the browser then takes it only from
 * this host over https with `Path=/` and no `Domain`, so a sibling subdomain or a
 * plain-http page cannot plant or overwrite it. Otherwise (http, or an app that
 * shares the cookie with its subdomains through a domain) it is `oidc.sid`. An
 * explicit name wins, but a `__Host-` one needs https and no domain, and a
 * `__Secure-` one https (the browser would drop it otherwise).
 */
export function resolveSessionCookie (
  { cookieName, cookieDomain }: { cookieName?: string | undefined, cookieDomain?: string | undefined },
  baseUrl: string | undefined,
  { pick, problems }: { pick: (option: string | undefined, envName: string, parse: (raw: string) => string, expects: string) => string | undefined, problems: string[] }
): SessionCookie {
  const secure = baseUrl?.startsWith('https:') === true
  const asName = (raw: string): string => raw
  const domain = pick(cookieDomain, 'OIDC_COOKIE_DOMAIN', asName, 'a domain')
  if (domain !== undefined) {
    const host = baseUrl === undefined ? undefined : new URL(baseUrl).hostname
    const bare = domain.replace(/^\./, '').toLowerCase()
    if (!DOMAIN.test(domain)) problems.push('OIDC_COOKIE_DOMAIN: expected a domain such as example.com')
    else if (host !== undefined && host !== bare && !host.endsWith(`.${bare}`)) problems.push(`OIDC_COOKIE_DOMAIN: expected the base URL's host or a parent domain of it, got ${JSON.stringify(domain)}`)
  }
  const name = pick(cookieName, 'OIDC_COOKIE_NAME', asName, 'a cookie name') ?? (secure && domain === undefined ? '__Host-oidc.sid' : 'oidc.sid')
  if (!NAME.test(name)) problems.push('cookieName: expected letters, digits, dot, dash or underscore')
  else if (name.startsWith('__Host-') && (!secure || domain !== undefined)) problems.push('cookieName: a __Host- cookie needs an https base URL and no cookie domain')
  else if (name.startsWith('__Secure-') && !secure) problems.push('cookieName: a __Secure- cookie needs an https base URL')
  return { name, domain }
}
