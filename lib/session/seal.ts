import { EncryptJWT, jwtDecrypt, errors, type JWTPayload } from 'jose'
import type { DerivedKey } from './keys.js'

export interface Opened<T> {
  payload: T
  /** True when an older key opened it: the caller should re-seal with the current key. */
  stale: boolean
}

export interface SealOptions {
  /** Seconds from now after which the sealed value no longer opens. */
  ttl?: number
  /** Binds the sealed value to a context (e.g. a session id): it opens only with the same value. */
  binding?: string
}

/**
 * Seals JSON payloads as compact JWE (`dir` + `A256GCM`) with the first key and
 * opens them with any key, chosen by `kid`. Opening fails (returns `null`) for
 * anything forged, truncated, expired, bound elsewhere or sealed with an unknown key.
 */
export class Sealer<T extends object> {
  readonly #keys: DerivedKey[]

  constructor (keys: DerivedKey[]) {
    this.#keys = keys
  }

  async seal (payload: T, options: SealOptions = {}): Promise<string> {
    const current = this.#keys[0]!
    const claims: JWTPayload = { p: payload }
    if (options.binding !== undefined) claims['b'] = options.binding
    const jwt = new EncryptJWT(claims).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: current.kid })
    if (options.ttl !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + options.ttl)
    return await jwt.encrypt(current.key)
  }

  async open (sealed: unknown, options: Pick<SealOptions, 'binding'> = {}): Promise<Opened<T> | null> {
    if (typeof sealed !== 'string' || sealed.length === 0) return null
    let stale = false
    try {
      const { payload } = await jwtDecrypt(sealed, (header) => {
        const index = this.#keys.findIndex((k) => k.kid === header.kid)
        if (index === -1) throw new errors.JWEDecryptionFailed()
        stale = index > 0
        return this.#keys[index]!.key
      }, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })
      if (payload['b'] !== options.binding) return null
      return { payload: payload['p'] as T, stale }
    } catch {
      return null
    }
  }
}
