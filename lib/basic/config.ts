import { asBool, asString, settingsReader } from '../settings.js'
import { OidcConfigError } from '../errors.js'
import type { FastifyOidcOptions } from '../options.js'
import type { OidcAuthenticate } from './options.js'

/** The validated settings of delegated (HTTP Basic) authentication. */
export interface BasicConfig {
  authenticate: OidcAuthenticate
  /** The `realm` of the `WWW-Authenticate: Basic` challenge. */
  realm: string
  /** Basic accepted over plain http to a non-loopback base URL. */
  allowHttp: boolean
  /** Failures per username, and per client IP, before 429. */
  maxFailures: number
  /** The window failures are counted in, milliseconds. */
  windowMs: number
}

/** What an RFC 7235 quoted-string may hold without escaping. */
const QUOTABLE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * Delegated authentication's settings, when an `authenticate` function is
 * given: `OIDC_BASIC_REALM`, `OIDC_BASIC_ALLOW_HTTP`, `OIDC_BASIC_MAX_FAILURES`,
 * `OIDC_BASIC_FAILURE_WINDOW` (seconds), options winning. Every problem in one
 * `FST_OIDC_CONFIG_INVALID`.
 */
export function resolveBasicConfig (options: FastifyOidcOptions): Readonly<BasicConfig> | undefined {
  const { authenticate } = options
  if (authenticate === undefined) return undefined
  const { problems, pick, numberSetting } = settingsReader(options.env ?? process.env, undefined)
  if (typeof authenticate !== 'function') problems.push('authenticate: expected a function (username, password, request) => { sub, roles?, claims? } | null')
  const realm = pick(options.basicRealm, 'OIDC_BASIC_REALM', asString, 'a string') ?? 'fastify-oidc'
  if (!QUOTABLE.test(realm)) problems.push('OIDC_BASIC_REALM: expected printable ASCII without " or \\')
  const allowHttp = pick(options.basicAllowHttp, 'OIDC_BASIC_ALLOW_HTTP', asBool, 'true or false') ?? false
  const maxFailures = numberSetting(options.basicMaxFailures, 'OIDC_BASIC_MAX_FAILURES', 5, 1, 1000)
  const window = numberSetting(options.basicFailureWindow, 'OIDC_BASIC_FAILURE_WINDOW', 300, 1, 24 * 3600)
  if (problems.length > 0) throw new OidcConfigError(problems.map((p) => `  - ${p}`).join('\n'))
  return Object.freeze({ authenticate, realm, allowHttp, maxFailures, windowMs: window * 1000 })
}
