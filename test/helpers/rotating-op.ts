// The hostile OP's token endpoint with strict refresh-token rotation and reuse
// detection (RFC 9700 4.14.2, as Keycloak, Okta, Auth0 do): each refresh token
// works once and is replaced by a new one; presenting a used one again is taken
// as theft and revokes the whole grant (every later refresh: invalid_grant).
// `hang()` makes refresh grants wait — after the OP has processed them, as a
// slow IdP does — until the test releases them.
import type { HostileOp } from './hostile-op.js'

export interface Rotation {
  /** Refresh grants received. */
  grants: number
  /** Used refresh tokens presented again (each one revoked the grant). */
  reuses: number
  /** The grant was revoked: every refresh fails. */
  revoked: boolean
  /** Access tokens issued by refresh grants, in order. */
  issued: string[]
  /** The next refresh grants wait until the returned function is called. */
  hang: () => () => void
  /** The next refresh grant fails with this OAuth error (HTTP 500 `server_error`: a temporary failure; nothing rotates). */
  failNext: boolean
}

/** Scripts `op`'s token endpoint (code exchange as usual; refresh grants rotating strictly). */
export function strictRotation (op: HostileOp): Rotation {
  const live = new Set<string>()
  const used = new Set<string>()
  let gate: Promise<void> | undefined
  const rotation: Rotation = {
    grants: 0,
    reuses: 0,
    revoked: false,
    issued: [],
    failNext: false,
    hang () {
      let release!: () => void
      gate = new Promise((resolve) => { release = resolve })
      return () => {
        gate = undefined
        release()
      }
    }
  }
  op.onToken = async (ctx) => {
    if (ctx.grantType !== 'refresh_token') {
      if (ctx.error !== undefined) return undefined
      const body = await ctx.defaultBody()
      live.add(body['refresh_token'] as string)
      return { body }
    }
    rotation.grants++
    const token = ctx.params.get('refresh_token') ?? ''
    let answer
    if (rotation.failNext) {
      rotation.failNext = false
      answer = { status: 500, body: { error: 'server_error', error_description: 'try again later' } }
    } else if (!rotation.revoked && live.delete(token)) {
      used.add(token)
      const body = await ctx.defaultBody()
      live.add(body['refresh_token'] as string)
      rotation.issued.push(body['access_token'] as string)
      answer = { body }
    } else {
      if (used.has(token)) {
        rotation.reuses++
        rotation.revoked = true
        live.clear()
      }
      answer = { status: 400, body: { error: 'invalid_grant', error_description: 'refresh token reused: grant revoked' } }
    }
    // Processed (rotated) already; the answer is what is late.
    await gate
    return answer
  }
  return rotation
}

/** Waits (bounded) until `done()` holds: for something the app does after a request was answered. */
export async function until (done: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
