import { signerFactory, type UnsignResult } from '@fastify/cookie'

/** Most session ids remembered per direction; the memo is emptied when it is full. */
const MAX_REMEMBERED = 10_000

/**
 * The signer of the session cookie (`@fastify/session`'s `secret` option):
 * `@fastify/cookie`'s HMAC signer (the first key signs, every key verifies),
 * remembering its answers for the ids it has already seen. A logged-in request
 * would otherwise pay two HMACs: one to verify its cookie, and one because
 * `@fastify/session` signs the restored session's id again to compare it with
 * that cookie.
 *
 * Both answers are functions of their input alone (the keys are fixed for the
 * process), so a remembered answer is the answer the HMAC gives. Only a
 * verification that succeeded is remembered, keyed by the whole signed value,
 * with the signature of its id under the current key (what `sign` then
 * answers without an HMAC): a forged or altered cookie is never found there
 * and is checked in full, and the ids made for anonymous requests (signed
 * once, never sent back) take no room.
 */
export class SessionCookieSigner {
  readonly #signer: ReturnType<typeof signerFactory>
  readonly #signed = new Map<string, string>()
  readonly #verified = new Map<string, UnsignResult>()

  constructor (secrets: string[]) {
    this.#signer = signerFactory(secrets, 'sha256')
  }

  sign (value: string): string {
    return this.#signed.get(value) ?? this.#signer.sign(value)
  }

  unsign (signedValue: string): UnsignResult {
    const known = this.#verified.get(signedValue)
    if (known !== undefined) return known
    const result = this.#signer.unsign(signedValue)
    if (result.valid) {
      if (this.#verified.size >= MAX_REMEMBERED) {
        this.#verified.clear()
        this.#signed.clear()
      }
      this.#verified.set(signedValue, Object.freeze(result))
      // Signed with an older key: the id's signature now is another value.
      if (!result.renew) this.#signed.set(result.value, signedValue)
    }
    return result
  }
}
