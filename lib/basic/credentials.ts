import type { FastifyRequest } from 'fastify'
import { OidcBasicMalformedError } from '../errors.js'

/** The most an `Authorization: Basic` header may hold: beyond, 400 (no authenticator is asked). */
export const MAX_BASIC_HEADER = 1024
const BASIC = /^Basic +([A-Za-z0-9+/]*={0,2}) *$/i
const SCHEME = /^Basic(?: |$)/i
// RFC 7617 2: the user-id must not contain control characters.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
const utf8 = new TextDecoder('utf-8', { fatal: true })

export interface BasicCredentials {
  username: string
  password: string
}

/** Whether the request carries `Authorization: Basic …` (well-formed or not). */
export function hasBasicCredentials (request: FastifyRequest): boolean {
  return SCHEME.test(request.headers.authorization ?? '')
}

/**
 * The credentials of an `Authorization: Basic` header (RFC 7617): base64 of
 * UTF-8 `user-id ":" password`, split at the first colon (a password may hold
 * colons). Throws `FST_OIDC_BASIC_MALFORMED` (400, reason `malformed`) for an
 * oversized header, bad base64, bytes that are not UTF-8, no colon, or a
 * control character in the user-id — then the username (when one could be
 * read) rides on the error for the audit trail.
 */
export function parseBasicCredentials (header: string): BasicCredentials {
  if (header.length > MAX_BASIC_HEADER) throw new OidcBasicMalformedError('the Authorization header is too long')
  const encoded = BASIC.exec(header)?.[1]
  if (encoded === undefined || encoded.length % 4 !== 0) throw new OidcBasicMalformedError('not base64')
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    throw new OidcBasicMalformedError('not UTF-8')
  }
  const colon = decoded.indexOf(':')
  if (colon < 0) throw new OidcBasicMalformedError('no colon between user-id and password')
  const username = decoded.slice(0, colon)
  if (CONTROL.test(username)) throw Object.assign(new OidcBasicMalformedError('a control character in the user-id'), { username })
  return { username, password: decoded.slice(colon + 1) }
}
