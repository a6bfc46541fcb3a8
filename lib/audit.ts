import type { FastifyRequest } from 'fastify'

/** The kinds of audit events. */
export type OidcAuditEventType =
  | 'login' | 'login_failure' | 'logout' | 'refresh' | 'refresh_failure'
  | 'backchannel_logout' | 'backchannel_logout_failure' | 'basic_auth' | 'basic_auth_failure'
  | 'token_exchange' | 'token_exchange_failure'

/** One audit-trail entry. Never holds a token, secret, password or authorization code. */
export interface OidcAuditEvent {
  type: OidcAuditEventType
  /** ISO 8601 UTC time. */
  at: string
  provider?: string | undefined
  sub?: string | undefined
  sid?: string | undefined
  reason?: string | undefined
  /** Basic authentication: the username given, encoded so that it cannot forge a log line. */
  username?: string | undefined
  /** Token exchange: the origin of the downstream the token is (or was to be) issued for. */
  downstream?: string | undefined
  /** The client's address (`request.ip`), encoded and cut to 200 characters like `username`. */
  ip: string
  requestId: string
  /** The route's URL pattern (`/api/stock`), or the path when no route matched. */
  route: string
}

export type AuditDetails = Partial<Pick<OidcAuditEvent, 'provider' | 'sub' | 'sid' | 'reason' | 'username' | 'downstream'>>
export type Audit = (request: FastifyRequest, type: OidcAuditEventType, details?: AuditDetails) => OidcAuditEvent

/**
 * A name a client chose (a Basic username), made safe to write in any log:
 * control characters (CR, LF, ESC of ANSI sequences…) and backslashes are
 * escaped as `\uXXXX`, so it cannot forge a log line or recolour a terminal;
 * cut to 200 characters.
 */
export function encodeForLog (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.slice(0, 200).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Builds the audit function: each event is logged through the request's pino
 * logger (`audit` key) and handed to `onAudit`. Events carry identifiers only,
 * never a token, secret, password or authorization code; a username is
 * encoded (`encodeForLog`). A throwing `onAudit` is logged and does not change
 * the answer.
 */
export function createAudit (onAudit?: (event: OidcAuditEvent) => void): Audit {
  return (request, type, details = {}) => {
    const { username, ...rest } = details
    const event: OidcAuditEvent = {
      type,
      at: new Date().toISOString(),
      ...rest,
      ...(username === undefined ? {} : { username: encodeForLog(username) }),
      // With trustProxy the address is what X-Forwarded-For says: encoded and cut like a username.
      ip: encodeForLog(request.ip),
      requestId: String(request.id),
      route: String(request.routeOptions.url)
    }
    const failed = type.endsWith('_failure')
    request.log[failed ? 'warn' : 'info']({ audit: event }, `oidc audit: ${type}${event.reason === undefined ? '' : ` (${event.reason})`}`)
    if (onAudit !== undefined) {
      try {
        onAudit(event)
      } catch (err) {
        request.log.error({ err }, 'oidc audit: onAudit threw')
      }
    }
    return event
  }
}
