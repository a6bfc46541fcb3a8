import type { OidcClaims } from './contract.js'

/** Where the common IdPs put roles, by preset name (`rolesClaim: 'keycloak'`). */
const ROLE_PRESETS: Record<string, (clientId: string | undefined) => string[]> = {
  // Realm roles and the roles of this client.
  keycloak: (clientId) => ['realm_access.roles', ...(clientId === undefined ? [] : [`resource_access.${clientId}.roles`])],
  entra: () => ['roles'],
  okta: () => ['groups']
}

/** Reads one dotted claim path as a list of strings (an array, or a space/comma-separated string). */
function listAt (claims: OidcClaims | null, path: string): string[] {
  let value: unknown = claims
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return []
    value = Object.hasOwn(value, part) ? (value as Record<string, unknown>)[part] : undefined
  }
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean)
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

/**
 * The user's roles from their claims: `rolesClaim` is a dotted path
 * (`realm_access.roles`) or a preset — `keycloak` (realm roles and
 * `resource_access.<clientId>.roles`), `entra` (`roles`), `okta` (`groups`).
 *
 * @example
 * rolesFrom({ sub: 'a', realm_access: { roles: ['admin'] } }, 'keycloak', 'shop') // ['admin']
 */
export function rolesFrom (claims: OidcClaims | null, rolesClaim: string, clientId?: string): string[] {
  const paths = Object.hasOwn(ROLE_PRESETS, rolesClaim) ? ROLE_PRESETS[rolesClaim]!(clientId) : [rolesClaim]
  return [...new Set(paths.flatMap((path) => listAt(claims, path)))]
}
