import { decodeJwt } from 'jose'
import type { OidcClaims } from '../contract.js'

/**
 * The claims of a token set's ID token (validated when it was received), to
 * compare a userinfo answer or a refreshed ID token with. An ID token that
 * cannot be read fails closed: nothing is compared against garbage.
 */
export function claimsOf (idToken: string | undefined): OidcClaims | undefined {
  if (idToken === undefined) return undefined
  try {
    return decodeJwt(idToken) as OidcClaims
  } catch {
    throw new TypeError('tokens.idToken is not a readable JWT')
  }
}

/** OIDC Core 12.2: a refreshed ID token must name the same user, issuer, audience and authorized party. */
export function sameSubject (next: OidcClaims, previous: OidcClaims): boolean {
  const audiences = (c: OidcClaims): string => [c['aud']].flat().map(String).sort().join(' ')
  return next.sub === previous.sub && next['iss'] === previous['iss'] && audiences(next) === audiences(previous) &&
    (next['azp'] === undefined || previous['azp'] === undefined || next['azp'] === previous['azp'])
}
