import { createHash, timingSafeEqual } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify, type errors, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { OidcIdTokenInvalidError } from '../errors.js'
import { translateIdpError, withReason, type ReasonedError } from '../idp-errors.js'
import { tokenFault } from './jose-failure.js'
import { namesIssuer, TENANT_PLACEHOLDER } from '../provider/issuer.js'
import type { OidcClaims } from '../contract.js'

/** An ID token is minted for this exchange: one issued longer ago than a login may last (seconds) is refused. */
const MAX_ID_TOKEN_AGE = 600

export interface IdTokenChecks {
  /** Key source: the provider's remote JWKS (and the client secret for configured HMAC algorithms). */
  keys: JWTVerifyGetKey
  /** The issuer, or Entra ID's `…/{tenantid}/v2.0` template (then `iss` must be it filled with the token's `tid`). */
  issuer: string
  /** Other spellings of the issuer the provider uses (Google: `accounts.google.com`). */
  issuerAliases: readonly string[]
  clientId: string
  algorithms: string[]
  clockTolerance: number
  /** The nonce sent in the authorization request; `undefined` for refreshed ID tokens. */
  nonce?: string | undefined
  /** The access token issued alongside, checked against `at_hash` when that claim is present. */
  accessToken?: string | undefined
}

/** The hash behind `at_hash` for each JWS algorithm (OIDC Core 3.1.3.6; EdDSA/Ed25519 use SHA-512). */
function hashOf (alg: string): string {
  if (alg.endsWith('384')) return 'sha384'
  if (alg.endsWith('512') || alg === 'EdDSA' || alg === 'Ed25519') return 'sha512'
  return 'sha256'
}

function reject (reason: string, detail: string): ReasonedError {
  return withReason(new OidcIdTokenInvalidError(detail), `id_token_${reason}`)
}

/** OIDC Core 3.1.3.6: base64url of the left half of the hash of the access token. */
export function tokenHash (token: string, alg: string): string {
  const digest = createHash(hashOf(alg)).update(token).digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

function sameString (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Validates an ID token (OIDC Core 3.1.3.7) in a fixed order: the header
 * algorithm (never `none`, HMAC only when configured), the signature against
 * the JWKS, then `iss`, `aud`, `exp`, `iat` (not in the future beyond the
 * tolerance, and not older than a login may take), `sub`, `azp`, `nonce` and
 * `at_hash`. Resolves to the claims.
 *
 * It does NOT check `acr`, `amr` nor `auth_time`: what a login asked for
 * (`acr_values`, `max_age`) is checked on the claims afterwards (`stepUpShortfall`).
 */
export async function verifyIdToken (idToken: string, checks: IdTokenChecks): Promise<OidcClaims> {
  let alg: unknown
  try {
    alg = decodeProtectedHeader(idToken).alg
  } catch {
    throw reject('malformed', 'not a JWS')
  }
  if (typeof alg !== 'string' || !checks.algorithms.includes(alg)) {
    throw reject('alg', `the algorithm ${JSON.stringify(String(alg)).slice(0, 20)} is not accepted`)
  }

  const template = checks.issuer.includes(TENANT_PLACEHOLDER)
  let payload: JWTPayload
  try {
    ({ payload } = await jwtVerify(idToken, checks.keys, {
      // A multi-tenant issuer is checked below, with the token's tid.
      ...(template ? {} : { issuer: [checks.issuer, ...checks.issuerAliases] }),
      audience: checks.clientId,
      algorithms: checks.algorithms,
      clockTolerance: checks.clockTolerance,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat']
    }))
  } catch (err) {
    throw joseFailure(err)
  }

  if (template && !namesIssuer(checks.issuer, [], String(payload.iss), String(payload['tid']))) throw reject('iss', 'the iss claim is not acceptable')
  const now = Math.floor(Date.now() / 1000)
  if (payload.iat! > now + checks.clockTolerance) throw reject('iat', 'issued in the future')
  if (payload.iat! < now - MAX_ID_TOKEN_AGE - checks.clockTolerance) throw reject('iat', 'issued too long ago')
  if (typeof payload.sub !== 'string' || payload.sub === '') throw reject('sub', 'no subject')
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud]
  if (audiences.length > 1 && payload['azp'] === undefined) throw reject('azp', 'several audiences and no azp')
  if (payload['azp'] !== undefined && payload['azp'] !== checks.clientId) throw reject('azp', 'azp is not this client')
  if (checks.nonce !== undefined) {
    if (typeof payload['nonce'] !== 'string' || !sameString(payload['nonce'], checks.nonce)) throw reject('nonce', 'the nonce does not match')
  }
  if (payload['at_hash'] !== undefined && checks.accessToken !== undefined) {
    if (typeof payload['at_hash'] !== 'string' || !sameString(payload['at_hash'], tokenHash(checks.accessToken, alg))) {
      throw reject('at_hash', 'at_hash does not match the access token')
    }
  }
  return payload as OidcClaims
}

function joseFailure (err: unknown): ReasonedError {
  switch (tokenFault(err)) {
    case 'exp': return reject('exp', 'expired')
    case 'claim': {
      const named = (err as errors.JWTClaimValidationFailed).claim
      const claim = named === 'iss' || named === 'aud' || named === 'iat' || named === 'sub' || named === 'exp' ? named : 'claims'
      return reject(claim, `the ${claim} claim is not acceptable`)
    }
    case 'signature': return reject('signature', 'the signature does not verify with the provider keys')
    case 'malformed': return reject('malformed', 'not a valid signed JWT')
    // JWKS could not be fetched: the IdP is unusable, not the user's token.
    default: return translateIdpError(err, 'jwks')
  }
}

/** Claims that only served the ID token's own validation: not about the user. */
const PROTOCOL_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash']

/** The user's claims from a validated ID token, without its protocol-only claims. */
export function userClaims (claims: OidcClaims): OidcClaims {
  const user = { ...claims }
  for (const claim of PROTOCOL_CLAIMS) delete user[claim]
  return user
}
