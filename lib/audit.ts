import type { FastifyRequest } from 'fastify'
import type { OidcAuditEvent, OidcAuditEventType } from './types.js'

export type AuditDetails = Partial<Pick<OidcAuditEvent, 'provider' | 'sub' | 'sid' | 'reason'>>
export type Audit = (request: FastifyRequest, type: OidcAuditEventType, details?: AuditDetails) => OidcAuditEvent

/**
 * Builds the audit function: each event is logged through the request's pino
 * logger (`audit` key) and handed to `onAudit`. Events carry identifiers only,
 * never a token, secret, password or authorization code. A throwing `onAudit`
 * is logged and does not change the answer.
 */
export function createAudit (onAudit?: (event: OidcAuditEvent) => void): Audit {
  return (request, type, details = {}) => {
    const event: OidcAuditEvent = { type, at: new Date().toISOString(), ...details, ip: request.ip, requestId: String(request.id) }
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
