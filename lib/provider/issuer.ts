/** Entra ID's multi-tenant issuer template: `https://login.microsoftonline.com/{tenantid}/v2.0`. */
export const TENANT_PLACEHOLDER = '{tenantid}'
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Whether `iss` names the provider: its issuer or one of its aliases (Google's
 * `accounts.google.com`). For Entra's `{tenantid}` template: the template filled
 * with a tenant id — `tenant` (an ID token's `tid`) when given, any tenant id
 * otherwise (the RFC 9207 `iss` callback parameter, before any token is seen).
 */
export function namesIssuer (issuer: string, aliases: readonly string[], iss: string, tenant?: string): boolean {
  if (!issuer.includes(TENANT_PLACEHOLDER)) return iss === issuer || aliases.includes(iss)
  const [before, after] = issuer.split(TENANT_PLACEHOLDER) as [string, string]
  const named = iss.startsWith(before) && iss.endsWith(after) ? iss.slice(before.length, iss.length - after.length) : ''
  return TENANT_ID.test(named) && (tenant === undefined || named === tenant)
}
