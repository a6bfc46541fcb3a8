import { OidcConfigError, OidcIdTokenInvalidError, OidcStepUpFailedError, OidcStepUpSubjectError } from '../errors.js'
import { withReason } from '../idp-errors.js'

/**
 * What a guarded route asks of the caller's authentication (step-up): an `acr`
 * among `acr`, and/or an `auth_time` at most `maxAge` seconds ago.
 */
export interface StepUpRequirement {
  /** Acceptable `acr` values (any one of them). */
  acr?: readonly string[] | undefined
  /** Seconds since `auth_time`, at most. */
  maxAge?: number | undefined
}

/** Why claims fall short: the `acr`, or the `auth_time` (missing, too old, or in the future). */
export type StepUpShortfall = 'acr' | 'auth_time'

/** An `acr` value: printable ASCII without space, `"` or `\` (it is quoted in `acr_values="…"`). */
const ACR_VALUE = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/
/** Most `acr` values asked for at once. */
const MAX_ACR_VALUES = 10
/** `max_age` the plugin sends and checks: whole seconds, as `authorizeRedirect` accepts them. */
const MAX_AGE = /^\d{1,9}$/

/** True when a requirement asks for something. */
export function isStepUp (requirement: StepUpRequirement | undefined): requirement is StepUpRequirement {
  return requirement?.acr !== undefined || requirement?.maxAge !== undefined
}

/**
 * Checks a guard's `acr` / `maxAge` options at set-up (`FST_OIDC_CONFIG_INVALID`
 * naming the guard) and returns the requirement, or undefined when there is none.
 */
export function checkStepUp (options: { acr?: unknown, maxAge?: unknown }, guard: string): StepUpRequirement | undefined {
  const { acr, maxAge } = options
  const problems: string[] = []
  if (acr !== undefined && (!Array.isArray(acr) || acr.length === 0 || acr.length > MAX_ACR_VALUES || !acr.every((a) => typeof a === 'string' && ACR_VALUE.test(a)))) {
    problems.push(`  - ${guard} acr: expected 1 to ${MAX_ACR_VALUES} acr values (printable ASCII, no space, " or \\)`)
  }
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !MAX_AGE.test(String(maxAge)))) {
    problems.push(`  - ${guard} maxAge: expected whole seconds (0 to 999999999)`)
  }
  if (problems.length > 0) throw new OidcConfigError(problems.join('\n'))
  const requirement = { ...(acr === undefined ? {} : { acr: [...acr as string[]] }), ...(maxAge === undefined ? {} : { maxAge: maxAge as number }) }
  return isStepUp(requirement) ? Object.freeze(requirement) : undefined
}

/**
 * Reads `acr_values` / `max_age` as a login request carries them: a list of
 * acr values, whole seconds; anything else is undefined (not asked for).
 */
export function parseStepUpParams (acrValues: unknown, maxAge: unknown): StepUpRequirement {
  const acr = typeof acrValues === 'string' ? acrValues.split(' ').filter((a) => a !== '') : []
  const acrOk = acr.length > 0 && acr.length <= MAX_ACR_VALUES && acr.every((a) => ACR_VALUE.test(a))
  return {
    ...(acrOk ? { acr } : {}),
    ...(typeof maxAge === 'string' && MAX_AGE.test(maxAge) ? { maxAge: Number(maxAge) } : {})
  }
}

/**
 * What claims (an ID token's, an access token's) lack against a requirement:
 * `'acr'` when their `acr` is not one of the acceptable values, `'auth_time'`
 * when `maxAge` is asked and `auth_time` is missing, older than `maxAge` plus the
 * clock tolerance, or later than now plus the tolerance; undefined when they satisfy it.
 */
export function stepUpShortfall (claims: Record<string, unknown>, requirement: StepUpRequirement, clockTolerance: number, now = Date.now() / 1000): StepUpShortfall | undefined {
  if (requirement.acr !== undefined && !requirement.acr.includes(claims['acr'] as string)) return 'acr'
  if (requirement.maxAge !== undefined) {
    const authTime = claims['auth_time']
    if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return 'auth_time'
    if (authTime < now - requirement.maxAge - clockTolerance || authTime > now + clockTolerance) return 'auth_time'
  }
  return undefined
}

/** A value the IdP sent, shown safely: quoted, printable ASCII, 60 characters at most. */
function shown (value: unknown): string {
  return JSON.stringify(String(value).slice(0, 60)).replace(/[^\x20-\x7E]/g, '?')
}

/** What was asked, in words: `acr urn:a or urn:b, an authentication at most 300 s old`. */
export function describeRequirement (requirement: StepUpRequirement): string {
  return [
    ...(requirement.acr === undefined ? [] : [`acr ${requirement.acr.join(' or ')}`]),
    ...(requirement.maxAge === undefined ? [] : [`an authentication at most ${requirement.maxAge} s old`])
  ].join(', ')
}

/** What came back, in words: the `acr` and the age of `auth_time` (or that they are missing). */
export function describeAuthentication (claims: Record<string, unknown>, now = Date.now() / 1000): string {
  const acr = claims['acr'] === undefined ? 'no acr' : `acr ${shown(claims['acr'])}`
  const authTime = claims['auth_time']
  const age = typeof authTime !== 'number' || !Number.isFinite(authTime)
    ? 'no auth_time'
    : authTime > now ? `an auth_time ${Math.ceil(authTime - now)} s in the future` : `an authentication ${Math.floor(now - authTime)} s old`
  return `${acr}, ${age}`
}

/** RFC 9470 3: the `error_description` of each shortfall. */
const DESCRIPTIONS: Record<StepUpShortfall, string> = {
  acr: 'A different authentication level is required',
  auth_time: 'More recent authentication is required'
}

/**
 * The RFC 9470 challenge: `Bearer [realm="…", ]error="insufficient_user_authentication",
 * error_description="…"[, acr_values="…"][, max_age=…]` (the values were checked at set-up).
 */
export function stepUpChallenge (requirement: StepUpRequirement, shortfall: StepUpShortfall, realm?: string): string {
  return [
    ...(realm === undefined ? [] : [`realm="${realm}"`]),
    'error="insufficient_user_authentication"',
    `error_description="${DESCRIPTIONS[shortfall]}"`,
    ...(requirement.acr === undefined ? [] : [`acr_values="${requirement.acr.join(' ')}"`]),
    ...(requirement.maxAge === undefined ? [] : [`max_age=${requirement.maxAge}`])
  ].join(', ').replace(/^/, 'Bearer ')
}

/** The same requirement, as a stable key (the loop guard compares it). */
export function stepUpKey (requirement: StepUpRequirement): string {
  return `${[...requirement.acr ?? []].sort().join(' ')}|${requirement.maxAge ?? ''}`
}

/**
 * What a login asked for, checked on the claims it came back with: a step-up of a
 * signed-in user comes back for that user (403 `FST_OIDC_STEP_UP_SUBJECT_MISMATCH`,
 * reason `step_up_subject`), with an `acr` among `acr_values` and an `auth_time`
 * within `max_age` plus the clock tolerance and not in the future (403
 * `FST_OIDC_STEP_UP_FAILED`, reason `step_up_acr` / `step_up_auth_time`, saying what
 * was asked and what came back). A login without a signed-in user whose `auth_time`
 * does not meet its `max_age` has an invalid ID token: 401 `FST_OIDC_ID_TOKEN_INVALID`,
 * reason `id_token_auth_time`. Returns the requirement met, if any.
 */
export function checkLoginStepUp (claims: Record<string, unknown>, asked: StepUpRequirement & { subject?: string | undefined }, clockTolerance: number): StepUpRequirement | undefined {
  if (asked.subject !== undefined && claims['sub'] !== asked.subject) throw withReason(new OidcStepUpSubjectError(), 'step_up_subject')
  const requirement: StepUpRequirement = {
    ...(asked.acr === undefined ? {} : { acr: asked.acr }),
    ...(asked.maxAge === undefined ? {} : { maxAge: asked.maxAge })
  }
  if (!isStepUp(requirement)) return undefined
  const shortfall = stepUpShortfall(claims, requirement, clockTolerance)
  // A max_age login that is not a step-up of a signed-in user (a first login, an app's own
  // authorizeRedirect): an unacceptable auth_time makes the ID token invalid (OIDC Core 3.1.3.7), 401.
  if (shortfall === 'auth_time' && asked.subject === undefined) {
    throw withReason(new OidcIdTokenInvalidError(`auth_time: max_age was requested; got ${describeAuthentication(claims)}`), 'id_token_auth_time')
  }
  if (shortfall !== undefined) {
    throw withReason(new OidcStepUpFailedError(describeRequirement(requirement), describeAuthentication(claims)), `step_up_${shortfall}`)
  }
  return requirement
}
