import { isLoopbackHost } from '../settings.js'
import {
  OidcAuthenticatorError, OidcBasicInsecureTransportError, OidcCrossOriginError, OidcBasicThrottledError, OidcUnauthenticatedError, type OidcError
} from '../errors.js'
import type { Audit } from '../audit.js'
import type { BasicConfig } from '../basic/config.js'
import { BasicContext, type BasicAuthenticator } from '../basic/context.js'
import { parseBasicCredentials } from '../basic/credentials.js'
import type { FailureThrottle } from '../basic/throttle.js'
import { withReason, reasonOf } from '../idp-errors.js'

export interface BasicDeps {
  config: BasicConfig
  throttle: FailureThrottle
  audit: Audit
  /** The app's base URL: Basic over plain http only to a loopback one (or with `basicAllowHttp`). */
  baseUrl: string
}

/** The `WWW-Authenticate` challenge of Basic (RFC 7617: the charset says usernames are UTF-8). */
export function basicChallenge (realm: string): string {
  return `Basic realm="${realm}", charset="UTF-8"`
}

/** Methods that change nothing (RFC 9110 9.2.1): a cross-site one may carry Basic credentials. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

const isResult = (value: unknown): value is { sub: string, roles?: unknown, claims?: unknown } =>
  typeof value === 'object' && value !== null && typeof (value as { sub?: unknown }).sub === 'string' && (value as { sub: string }).sub !== ''

/**
 * Delegated authentication (HTTP Basic, RFC 7617) against the application's
 * own users: a cross-site browser request of an unsafe method (`Sec-Fetch-Site:
 * cross-site`, e.g. a forged form post riding on credentials the browser
 * cached) is refused (403 `FST_OIDC_CROSS_ORIGIN_REQUEST`, reason
 * `cross_site`); the credentials are parsed, refused over plain http to a
 * non-loopback base URL (400), throttled per username and per client IP (429
 * with `Retry-After` once `maxFailures` failed in the window — the same answer
 * for an unknown user; each try is reserved before `authenticate` runs, so a
 * parallel burst gets no more tries than a sequence), then the application's `authenticate(username,
 * password, request)` decides; the route's config is `request.routeOptions.config`.
 * `null` is 401 with the Basic challenge; a throw (or a result without `sub`) is
 * 503 `authenticator_error`, never 500. Every outcome is an audit event
 * (`basic_auth`, or `basic_auth_failure` with its reason) holding the username,
 * encoded, and never the password. No session is created.
 */
export function createBasicAuthenticator ({ config, throttle, audit, baseUrl }: BasicDeps): BasicAuthenticator {
  const loopback = isLoopbackHost(new URL(baseUrl).hostname)
  return async function authenticateBasic (request, reply) {
    let username: string | undefined
    try {
      // A browser sends cached Basic credentials with any request to the origin, a forged form post included.
      if (!SAFE.has(request.method) && request.headers['sec-fetch-site'] === 'cross-site') throw withReason(new OidcCrossOriginError(), 'cross_site')
      if (request.protocol !== 'https' && !loopback && !config.allowHttp) throw withReason(new OidcBasicInsecureTransportError(), 'insecure_transport')
      let credentials
      try {
        credentials = parseBasicCredentials(request.headers.authorization!)
      } catch (err) {
        username = (err as { username?: string }).username
        throw withReason(err as OidcError, 'malformed')
      }
      username = credentials.username
      const keys = { username, ip: request.ip }
      const wait = await throttle.reserve(keys)
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)))
        throw withReason(new OidcBasicThrottledError(), 'throttled')
      }
      let result: unknown
      try {
        result = await config.authenticate(username, credentials.password, request)
      } catch (err) {
        await throttle.release(keys)
        throw withReason(new OidcAuthenticatorError({ cause: err }), 'authenticator_error')
      }
      // A refusal turns its reservation into a failure; any other answer hands it back.
      if (result === null || result === undefined || result === false) {
        await throttle.fail(keys)
        throw withReason(new OidcUnauthenticatedError(), 'unknown_user_or_bad_password')
      }
      await throttle.release(keys)
      if (!isResult(result)) throw withReason(new OidcAuthenticatorError(), 'authenticator_error')
      const roles = Array.isArray(result.roles) ? result.roles.filter((r): r is string => typeof r === 'string') : []
      const claims = typeof result.claims === 'object' && result.claims !== null ? result.claims as Record<string, unknown> : {}
      const caller = new BasicContext(result.sub, roles, claims)
      audit(request, 'basic_auth', { sub: result.sub, username })
      // An own property: shadows the request decorator for this request.
      Object.defineProperty(request, 'oidc', { value: caller, enumerable: true, configurable: true })
      return caller
    } catch (err) {
      const reason = reasonOf(err, 'authenticator_error')
      audit(request, 'basic_auth_failure', { reason, ...(username === undefined ? {} : { username }) })
      if (reason === 'unknown_user_or_bad_password') reply.header('www-authenticate', basicChallenge(config.realm))
      throw err
    }
  }
}
