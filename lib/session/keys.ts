import { createHash, hkdfSync } from 'node:crypto'

/** What a derived key is used for: one key per purpose, never shared. */
export type KeyPurpose = 'token-set' | 'transaction' | 'cookie-signing' | 'session-index' | 'basic-throttle'

export interface DerivedKey {
  /** Short, non-secret identifier of the key (sent as the JWE `kid`). */
  kid: string
  key: Uint8Array
}

const SALT = 'fastify-oidc/v1'

/**
 * Derives one 256-bit key per secret for `purpose` with HKDF-SHA-256.
 * The first secret's key seals; every key opens (rotation).
 *
 * @example
 * const [current, ...older] = deriveKeys(['new secret …', 'old secret …'], 'token-set')
 */
export function deriveKeys (secrets: readonly string[], purpose: KeyPurpose): DerivedKey[] {
  return secrets.map((secret) => {
    const key = new Uint8Array(hkdfSync('sha256', secret, SALT, `fastify-oidc ${purpose}`, 32))
    const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8)
    return { kid, key }
  })
}

/**
 * A string form of the derived cookie-signing keys, as `@fastify/cookie` and
 * `@fastify/session` expect (first signs, all verify).
 */
export function cookieSigningSecrets (secrets: readonly string[]): string[] {
  return deriveKeys(secrets, 'cookie-signing').map(({ key }) => Buffer.from(key).toString('base64url'))
}
