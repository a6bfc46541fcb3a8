import { randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { TombstoneStore } from './tombstones.js'

/** Random bytes drawn at once for many ids (one `randomBytes` call per 128 ids, as `@fastify/session` does). */
const POOL_SIZE = 24 << 7
let pool = randomBytes(POOL_SIZE)
let position = 0
/** The id the next `generateSessionId()` call returns (set only inside `regenerateSession`). */
let planned: string | undefined

/** A fresh random session id: 24 bytes (192 bits), base64url, as `@fastify/session`'s default generator makes them. */
function randomId (): string {
  if (position + 24 > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE)
    position = 0
  }
  const id = pool.toString('base64url', position, position + 24)
  position += 24
  return id
}

/**
 * `@fastify/session`'s `idGenerator`: a fresh random id, or the one a login
 * chose for its regenerated session (`regenerateSession`).
 */
export function generateSessionId (): string {
  const id = planned ?? randomId()
  planned = undefined
  return id
}

/**
 * `request.session.regenerate()` (session fixation defence: a new random id,
 * the old session destroyed) for a login that stores its session right after,
 * without the store writes that only precede that: the empty session
 * `@fastify/session` writes under the new id (the login writes it in full a
 * moment later), and the destroy of an old id that was never stored (a request
 * that carried no session cookie has a session made for it, never saved).
 * A request that carried a session cookie still has its session destroyed.
 */
export async function regenerateSession (request: FastifyRequest, store: TombstoneStore, cookieName: string): Promise<void> {
  const id = randomId()
  const skipped = request.cookies[cookieName] === undefined ? [id, request.session.sessionId] : [id]
  store.skipEmpty(skipped)
  planned = id
  let regenerated: Promise<void>
  try {
    // The new Session (and so its id) is made synchronously in this call.
    regenerated = request.session.regenerate()
  } finally {
    planned = undefined
  }
  try {
    await regenerated
  } finally {
    store.release(skipped)
  }
}
