import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { OidcBearerMissingError, OidcConfigError, OidcInsufficientScopeError, OidcStepUpRequiredError, type OidcError } from '../errors.js'
import { BearerContext, type BearerAuthenticator, type BearerForwarding } from '../resource-server/context.js'
import type { BearerVerifier } from '../tokens/verified-bearer.js'
import type { RequireBearerOptions } from '../resource-server/types.js'
import { invalidToken } from '../tokens/access-token.js'
import { extractBearerToken, extractDpopProof } from '../tokens/bearer-token.js'
import { DPOP_ALGS, type DpopGuardSettings } from '../tokens/dpop-proof.js'
import { checkStepUp, describeRequirement, stepUpChallenge, stepUpShortfall, type StepUpRequirement, type StepUpShortfall } from '../tokens/step-up.js'

export interface RequireBearerSettings {
  /** The `realm` of every challenge (quotable). */
  realm: string
  rolesClaim: string
  /** Seconds of clock skew accepted on `auth_time` (step-up). */
  clockTolerance: number
  /** Where a verified caller's token may be relayed (`request.oidc.fetch`); none: nowhere. */
  forwarding?: Omit<BearerForwarding, 'incoming'> | undefined
  /** DPoP (RFC 9449): whether plain bearer tokens are still accepted, and the proof verifier. */
  dpop: DpopGuardSettings
}

/** What a refusal's challenges depend on: the scheme the token came with, and the DPoP mode. */
export interface ChallengeContext {
  scheme: 'bearer' | 'dpop'
  mode: DpopGuardSettings['mode']
}

/** RFC 6750 3.1 `error` attribute of each refusal; a missing token gets a challenge without one. */
const ERROR_ATTRIBUTES = new Map([
  ['FST_OIDC_BEARER_REQUEST_INVALID', 'invalid_request'],
  ['FST_OIDC_TOKEN_INVALID', 'invalid_token'],
  ['FST_OIDC_INSUFFICIENT_SCOPE', 'insufficient_scope'],
  ['FST_OIDC_DPOP_PROOF_INVALID', 'invalid_dpop_proof']
])
/** RFC 9449 7.1: the algorithms accepted for proofs, in every DPoP challenge. */
const ALGS = `algs="${DPOP_ALGS.join(' ')}"`
/** Seconds a client should wait when the keys or the introspection endpoint are unreachable. */
const RETRY_AFTER = '10'
/** RFC 6749 3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** RFC 6750 3: `error_description` holds %x20-21 / %x23-5B / %x5D-7E only. */
const quotable = (text: string): string => text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "'")

/** The step-up refusal of a caller: 401 `FST_OIDC_STEP_UP_REQUIRED`, carrying what its challenge names. */
export function stepUpRequired (requirement: StepUpRequirement, shortfall: StepUpShortfall): OidcError {
  return Object.assign(new OidcStepUpRequiredError(describeRequirement(requirement)), { stepUp: { requirement, shortfall } })
}

/** The auth-params of a refusal's challenge (RFC 6750 3, RFC 9470 3, RFC 9449 7.1). */
function attributesOf (err: OidcError, realm: string, scopes: string[]): string {
  const { stepUp } = err as { stepUp?: { requirement: StepUpRequirement, shortfall: StepUpShortfall } }
  if (stepUp !== undefined) return stepUpChallenge(stepUp.requirement, stepUp.shortfall, realm).slice('Bearer '.length)
  const error = ERROR_ATTRIBUTES.get(err.code)
  if (error === undefined) return `realm="${realm}"`
  const scope = error === 'insufficient_scope' ? `, scope="${scopes.join(' ')}"` : ''
  return `realm="${realm}", error="${error}", error_description="${quotable(err.message)}"${scope}`
}

/**
 * The `WWW-Authenticate` challenges of a refusal. A plain bearer request answered
 * as before DPoP (`Bearer`), unless DPoP is required or the refusal is about DPoP
 * (a DPoP-bound token sent as `Bearer`, a bad proof): then the error is on a `DPoP`
 * challenge listing the accepted `algs`, followed by a bare `Bearer realm` when
 * plain bearer tokens are accepted too.
 */
function challengesOf (err: OidcError, realm: string, scopes: string[], context: ChallengeContext): string[] {
  const attributes = attributesOf(err, realm, scopes)
  const aboutDpop = context.scheme === 'dpop' || context.mode === 'required' || (err as { dpop?: boolean }).dpop === true
  if (!aboutDpop) return [`Bearer ${attributes}`]
  const dpop = `DPoP ${attributes}, ${ALGS}`
  return context.mode === 'allowed' ? [dpop, `Bearer realm="${realm}"`] : [dpop]
}

/** Checks `requireBearer` / `requireAuth` scopes at set-up: RFC 6749 scope tokens only (they are quoted in challenges). */
export function checkScopes (scopes: unknown, guard: string): string[] {
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
    throw new OidcConfigError(`  - ${guard} scopes: expected an array of scope tokens (printable ASCII, no space, " or \\)`)
  }
  return scopes
}

/**
 * Sets the RFC 6750 headers of a refusal on the reply (`WWW-Authenticate`, or
 * `Retry-After` when the verifier is unavailable) and returns the error, to be thrown.
 */
export function bearerRefusal (reply: FastifyReply, err: unknown, realm: string, scopes: string[], context: ChallengeContext): unknown {
  const error = err as OidcError
  // A provider not discovered yet says when its next attempt is (`retryAfter`, seconds).
  if (error.code === 'FST_OIDC_VERIFIER_UNAVAILABLE' || error.code === 'FST_OIDC_PROVIDER_MISCONFIGURED') reply.header('retry-after', String((error as { retryAfter?: number }).retryAfter ?? RETRY_AFTER))
  else {
    const challenges = challengesOf(error, realm, scopes, context)
    reply.header('www-authenticate', challenges.length === 1 ? challenges[0] : challenges)
  }
  return err
}

/**
 * The bearer half of the guards, shared by `requireBearer` and `requireAuth({
 * accept: ['bearer'] })`: extracts the token (header only, `Bearer` or `DPoP`
 * scheme), verifies it and its DPoP binding (RFC 9449: a token bound to a key
 * (`cnf.jkt`) only with the `DPoP` scheme and a valid proof of that key; with
 * `dpop.mode` `required`, no plain bearer token), checks
 * every required scope (403 `insufficient_scope`), then the step-up requirement
 * on its `acr` / `auth_time` claims (401 `insufficient_user_authentication`, RFC 9470),
 * and makes `request.oidc` the token's caller for this request.
 */
export function createBearerAuthenticator (verifier: BearerVerifier, settings: RequireBearerSettings): BearerAuthenticator {
  const { mode, verify: verifyProof } = settings.dpop
  return async function authenticateBearer (request, reply, scopes, stepUp) {
    // Malformed DPoP credentials are refused with a DPoP challenge too.
    const context: ChallengeContext = { scheme: /^dpop(?: |$)/i.test(request.headers.authorization ?? '') ? 'dpop' : 'bearer', mode }
    try {
      const presented = extractBearerToken(request)
      if (presented === undefined) return undefined
      const { token, scheme } = presented
      if (scheme === 'bearer' && mode === 'required') throw invalidToken('DPoP is required: send a DPoP-bound token with the DPoP scheme and a proof')
      const proof = scheme === 'dpop' ? extractDpopProof(request) : undefined
      const verified = await verifier.verify(token)
      if (proof === undefined) {
        if (verified.jkt !== null) throw Object.assign(invalidToken('a DPoP-bound token must be sent with the DPoP scheme and a proof'), { dpop: true })
      } else {
        if (verified.jkt === null) throw invalidToken('the token is not DPoP-bound: send it with the Bearer scheme')
        // htu: the URL as the service sees it (scheme and host from X-Forwarded-* with trustProxy), before any rewriteUrl.
        await verifyProof(proof, { method: request.method, url: `${request.protocol}://${request.host}${request.originalUrl}`, accessToken: token, jkt: verified.jkt })
      }
      if (!scopes.every((s) => verified.scopes.includes(s))) throw new OidcInsufficientScopeError()
      const shortfall = stepUp === undefined ? undefined : stepUpShortfall(verified.claims, stepUp, settings.clockTolerance)
      if (shortfall !== undefined) throw stepUpRequired(stepUp!, shortfall)
      const forwarding = settings.forwarding === undefined ? undefined : { ...settings.forwarding, incoming: request.headers }
      const caller = new BearerContext(verified, token, settings.rolesClaim, forwarding)
      // An own property: shadows the request decorator, whichever plugin defined it.
      Object.defineProperty(request, 'oidc', { value: caller, enumerable: true, configurable: true })
      return caller
    } catch (err) {
      throw bearerRefusal(reply, err, settings.realm, scopes, context)
    }
  }
}

/**
 * `fastify.requireBearer(options)`: a `preHandler` that lets a request through
 * only with a valid bearer access token (RFC 6750) granting every required
 * scope — and, with `acr` / `maxAge`, carrying an acceptable `acr` and an
 * `auth_time` recent enough (RFC 9470) — then sets `request.oidc` to the token's
 * caller. Refusals are thrown as coded errors with their headers already set on
 * the reply, so they reach the client through the default and the application's
 * own error handlers: 401 `Bearer realm` (no token; `DPoP realm, algs` when DPoP is required),
 * 401 `invalid_token`, 401 `invalid_dpop_proof` (`DPoP` challenge), 403
 * `insufficient_scope`, 401 `insufficient_user_authentication` with `acr_values` /
 * `max_age`, 400 `invalid_request`, 503 with `Retry-After` (keys or introspection unreachable).
 *
 * @example
 * fastify.get('/reviews', { preHandler: fastify.requireBearer({ scopes: ['reviews:read'] }) }, handler)
 * fastify.post('/payments', { preHandler: fastify.requireBearer({ acr: ['urn:example:mfa'], maxAge: 300 }) }, handler)
 */
export function createRequireBearer (authenticate: BearerAuthenticator, realm: string, mode: DpopGuardSettings['mode'] = 'allowed') {
  return function requireBearer (options: RequireBearerOptions = {}): preHandlerAsyncHookHandler {
    const scopes = checkScopes(options.scopes ?? [], 'requireBearer')
    const stepUp = checkStepUp(options, 'requireBearer')
    return async function oidcRequireBearer (request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const caller = await authenticate(request, reply, scopes, stepUp)
      if (caller === undefined) throw bearerRefusal(reply, new OidcBearerMissingError(), realm, [], { scheme: 'bearer', mode })
    }
  }
}
