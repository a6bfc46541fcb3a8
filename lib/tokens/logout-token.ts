import { decodeProtectedHeader, jwtVerify, type errors, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { OidcLogoutTokenInvalidError } from '../errors.js'
import { translateIdpError, withReason, type ReasonedError } from '../idp-errors.js'
import { normalizeTyp } from './access-token.js'
import { tokenFault } from './jose-failure.js'

/** OIDC Back-Channel Logout 1.0 §2.4: the event a logout token carries. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'
/** A logout token issued longer ago than this (seconds) is refused; its `jti` is remembered as long. */
export const MAX_LOGOUT_TOKEN_AGE = 600

export interface LogoutTokenChecks {
  keys: JWTVerifyGetKey
  issuer: string
  clientId: string
  algorithms: string[]
  clockTolerance: number
}

/** What a valid logout token asks: end the sessions of `sid` (the IdP's session) and/or `sub`. */
export interface LogoutRequest {
  sid?: string | undefined
  sub?: string | undefined
  jti: string
}

function reject (reason: string, detail: string): ReasonedError {
  return withReason(new OidcLogoutTokenInvalidError(detail), `logout_token_${reason}`)
}

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== ''

/**
 * Validates a back-channel logout token (OIDC Back-Channel Logout 1.0 §2.6) in
 * a fixed order: the header (`alg` accepted — never `none` —, `typ` is
 * `logout+jwt` when present), the signature against the provider's JWKS, `iss`,
 * `aud` (this client), `exp` when present, `iat` (not in the future, at most 10
 * minutes old), `jti`, `events` holding the back-channel logout event as an
 * object, `sid` and/or `sub`, no `nonce`, `azp` (when present) this client.
 * It does NOT check that `jti` was not seen before: the caller does, with a
 * replay cache shared by every instance.
 */
export async function verifyLogoutToken (token: string, checks: LogoutTokenChecks): Promise<LogoutRequest> {
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(token)
  } catch {
    throw reject('malformed', 'not a JWS')
  }
  if (typeof header.alg !== 'string' || !checks.algorithms.includes(header.alg)) throw reject('alg', 'the algorithm is not accepted')
  if (header.typ !== undefined && normalizeTyp(String(header.typ)) !== 'logout+jwt') {
    throw reject('typ', 'the typ is not logout+jwt')
  }

  let payload: JWTPayload
  try {
    ({ payload } = await jwtVerify(token, checks.keys, {
      issuer: checks.issuer,
      audience: checks.clientId,
      algorithms: checks.algorithms,
      clockTolerance: checks.clockTolerance,
      requiredClaims: ['iss', 'aud', 'iat', 'jti', 'events']
    }))
  } catch (err) {
    throw joseFailure(err)
  }

  const now = Math.floor(Date.now() / 1000)
  if (payload.iat! > now + checks.clockTolerance) throw reject('iat', 'issued in the future')
  if (payload.iat! < now - MAX_LOGOUT_TOKEN_AGE - checks.clockTolerance) throw reject('iat', 'issued too long ago')
  if (!nonEmpty(payload.jti)) throw reject('jti', 'no jti')
  const events = payload['events'] as Record<string, unknown> | null
  const event = typeof events === 'object' && events !== null ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw reject('events', 'no back-channel logout event')
  const { sid, sub } = payload as { sid?: unknown, sub?: unknown }
  if ((sid !== undefined && !nonEmpty(sid)) || (sub !== undefined && !nonEmpty(sub)) || (sid === undefined && sub === undefined)) {
    throw reject('subject', 'neither a sid nor a sub')
  }
  if (payload['nonce'] !== undefined) throw reject('nonce', 'a logout token carries no nonce')
  if (payload['azp'] !== undefined && payload['azp'] !== checks.clientId) throw reject('azp', 'azp is not this client')
  return { jti: payload.jti, ...(sid === undefined ? {} : { sid }), ...(sub === undefined ? {} : { sub }) }
}

function joseFailure (err: unknown): ReasonedError {
  switch (tokenFault(err)) {
    case 'exp': return reject('exp', 'expired')
    case 'claim': return reject('claims', `the ${(err as errors.JWTClaimValidationFailed).claim} claim is not acceptable`)
    case 'signature': return reject('signature', 'the signature does not verify with the provider keys')
    case 'malformed': return reject('malformed', 'not a valid signed JWT')
    // The JWKS could not be fetched: the IdP's keys are unusable, not its token.
    default: return translateIdpError(err, 'jwks')
  }
}
