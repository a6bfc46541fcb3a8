import type { OidcClaims } from './types.js'

/** Reads a dotted claim path (`realm_access.roles`) as a list of strings. */
export function rolesFrom (claims: OidcClaims | null, path: string): string[] {
  let value: unknown = claims
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return []
    value = (value as Record<string, unknown>)[part]
  }
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean)
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}
