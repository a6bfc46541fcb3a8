import { createHmac } from 'node:crypto'
import { OidcSessionStoreError } from '../errors.js'
import { withReason } from '../idp-errors.js'
import { deriveKeys, type DerivedKey } from './keys.js'
import { isCapable, type OidcSessionStore, type SessionStoreCapabilities } from './store.js'

/** Whom a back-channel logout names: the IdP's session (`sid`) and/or the user (`sub`). */
export interface SessionOwner {
  sid?: string | undefined
  sub?: string | undefined
}

/**
 * Finds the sessions of an IdP session (`iss`, `sid`) or of a user (`iss`,
 * `sub`) — what back-channel logout must destroy on every instance. Kept in the
 * session store as sets under keyed hashes (HMAC with a key derived from the
 * session secret), so the store holds no `sub` or `sid` in clear. Entries
 * expire with the sessions' lifetime. Rotation: the first secret's key links,
 * every key finds.
 */
export class SessionIndex {
  readonly #keys: DerivedKey[]
  readonly #store: (SessionStoreCapabilities & OidcSessionStore) | undefined
  readonly #issuer: string
  readonly #ttlMs: number

  constructor (secrets: readonly string[], store: OidcSessionStore, issuer: string, ttlMs: number) {
    this.#keys = deriveKeys(secrets, 'session-index')
    this.#store = isCapable(store) ? store : undefined
    this.#issuer = issuer
    this.#ttlMs = ttlMs
  }

  /** False for a custom store without the index capability (back-channel logout is then not supported). */
  get supported (): boolean {
    return this.#store !== undefined
  }

  #hashes (names: Array<[string, string | undefined]>, keys: readonly DerivedKey[]): string[] {
    const present = names.filter((pair): pair is [string, string] => typeof pair[1] === 'string')
    return keys.flatMap(({ key }) => present.map(([kind, value]) =>
      createHmac('sha256', key).update(`${this.#issuer}\n${kind}\n${value}`).digest('base64url')))
  }

  /**
   * Records a new session under its `sid` and its `sub` — and, when the ID token
   * named no `sid`, under "`sub` without sid", so that a logout of one IdP
   * session of that user still finds it.
   */
  async link (sessionId: string, owner: SessionOwner): Promise<void> {
    if (this.#store === undefined) return
    const names: Array<[string, string | undefined]> = [['sid', owner.sid], ['sub', owner.sub], ['sub-nosid', owner.sid === undefined ? owner.sub : undefined]]
    await storeCall(this.#store.link(sessionId, this.#hashes(names, this.#keys.slice(0, 1)), this.#ttlMs))
  }

  /**
   * The ids of the sessions a logout names: with a `sid`, that IdP session's
   * (plus the user's sessions that recorded no sid); with a `sub` only, every
   * session of the user.
   */
  async find (owner: SessionOwner): Promise<string[]> {
    const store = this.#store
    if (store === undefined) return []
    const names: Array<[string, string | undefined]> = owner.sid !== undefined ? [['sid', owner.sid], ['sub-nosid', owner.sub]] : [['sub', owner.sub]]
    const sets = await storeCall(Promise.all(this.#hashes(names, this.#keys).map(async (hash) => await store.members(hash))))
    return [...new Set(sets.flat())]
  }
}

/** A store failure, as the 503 the client gets. */
export async function storeCall<T> (pending: Promise<T>): Promise<T> {
  try {
    return await pending
  } catch (err) {
    throw withReason(new OidcSessionStoreError({ cause: err }), 'session_store_error')
  }
}
