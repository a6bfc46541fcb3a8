import type { IncomingHttpHeaders } from 'node:http'
import type { DPoPHandle } from 'oauth4webapi'
import { OidcDownstreamOriginDeniedError, OidcDownstreamUnauthorizedError } from './errors.js'
import { dpopResourceRequest } from './tokens/dpop-request.js'
import { dpopProof } from './tokens/dpop-key.js'

/** Tracing headers copied from the incoming request to every downstream call (W3C Trace Context, B3, request id). */
export const TRACING_HEADERS = [
  'x-request-id', 'traceparent', 'tracestate',
  'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'
] as const

/** Credentials of the browser (or set by mistake in `init.headers`) that never go downstream; a proof is only the plugin's. */
const STRIPPED_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'dpop'] as const

/** Body types `fetch` can send a second time unchanged (it copies buffers; a stream is consumed by the first send). */
const REPLAYABLE_BODIES = [URLSearchParams, ArrayBuffer, Blob, FormData]

/** What forwarding needs: the caller's token, how to replace it, the incoming headers and the allow-list. */
export interface Forwarding {
  /**
   * The access token to send to `target` (refreshed first when about to expire; for a
   * downstream declared with an exchange, the token exchanged for it).
   */
  accessToken: (target: URL) => Promise<string>
  /**
   * The token to use after `target` refused `refused`, or `undefined` when
   * nothing can replace it (see `sessionRenewal`; a bearer caller's token cannot be renewed).
   */
  renew: (refused: string, target: URL) => Promise<string | undefined>
  incoming: IncomingHttpHeaders
  /** The allow-listed URL origins (`config.downstreams`, plus those declared with an exchange). */
  downstreams: readonly string[]
  /**
   * The DPoP handle of a session whose tokens are DPoP-bound (asked after `accessToken`):
   * its tokens go as `Authorization: DPoP` with a fresh proof per request. Undefined: bearer.
   */
  dpop?: () => Promise<DPoPHandle | undefined>
}

/**
 * The URL, parsed, when the user's access token may be sent to it: an absolute
 * `http(s)` URL without credentials whose origin (scheme, host, port — as the
 * WHATWG URL parser normalises them: lowercase host, default port dropped) is
 * exactly one of the allow-listed origins. It does NOT resolve names: a host
 * that is another spelling of an allowed one (a trailing dot, another name of the
 * same address) is refused. The parsed URL is what is then fetched, so the check
 * and the request cannot read the string differently.
 *
 * @example
 * allowedTarget('https://api.example.com/orders', ['https://api.example.com']) // URL
 * allowedTarget('https://api.example.com.evil/', ['https://api.example.com'])  // throws FST_OIDC_DOWNSTREAM_ORIGIN_DENIED
 */
export function allowedTarget (url: string | URL, downstreams: readonly string[]): URL {
  const href = String(url)
  if (!URL.canParse(href)) throw new OidcDownstreamOriginDeniedError('not an absolute URL')
  const target = new URL(href)
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new OidcDownstreamOriginDeniedError('not an http(s) URL')
  if (target.username !== '' || target.password !== '') throw new OidcDownstreamOriginDeniedError('the URL carries credentials')
  if (!downstreams.includes(target.origin)) {
    throw Object.assign(new OidcDownstreamOriginDeniedError('its origin is not in OIDC_DOWNSTREAMS'), { origin: target.origin })
  }
  return target
}

/** The incoming request's tracing headers. */
function tracingHeaders (incoming: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of TRACING_HEADERS) {
    const value = incoming[name]
    if (typeof value === 'string') headers[name] = value
  }
  return headers
}

/** True when `fetch` can send this body again for the retry. */
function isReplayable (body: RequestInit['body']): boolean {
  return body == null || typeof body === 'string' || ArrayBuffer.isView(body) || REPLAYABLE_BODIES.some((type) => body instanceof type)
}

/** Drops a response that is not handed to the caller, so its connection is released. */
async function discard (response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {})
}

/** What `sessionRenewal` needs of a session (the relying party's `RequestContext` is one). */
export interface RenewableSession {
  /** The session's current token set, or `null`. */
  readonly payload: { readonly tokens: { readonly accessToken: string } } | null
  /** True when the session holds a refresh token. */
  canRefresh (): boolean
  /** Runs the refresh-token grant (single-flight per session). */
  refresh (): Promise<{ readonly tokens: { readonly accessToken: string } }>
}

/**
 * `Forwarding.renew` of a session: the session's current token when another call
 * already replaced the refused one, else a new one from a refresh (single-flight
 * per session); `undefined` when the session holds no refresh token.
 */
export function sessionRenewal (session: RenewableSession): (refused: string) => Promise<string | undefined> {
  return async (refused) => {
    const current = session.payload?.tokens.accessToken
    if (current !== refused) return current
    if (!session.canRefresh()) return undefined
    return (await session.refresh()).tokens.accessToken
  }
}

/**
 * `request.oidc.fetch(url, init)`: the global `fetch` with `Authorization: Bearer
 * <access token>` (refreshed first when about to expire), for allow-listed origins
 * only. `init.headers` loses any `authorization`, `proxy-authorization` and `cookie`;
 * the incoming request's tracing headers are added unless `init` sets them. Redirects
 * are never followed (the 3xx is returned). A 401 answer makes the session replace
 * the refused token (one refresh per session even under concurrent calls) and the
 * request is sent once more when its body can be replayed; a 401 to that retry, or
 * a 401 with no way to refresh, throws `FST_OIDC_DOWNSTREAM_UNAUTHORIZED`. A stream
 * body cannot be sent twice: its 401 is returned as is, and the next call carries
 * the new token. A DPoP session (`forwarding.dpop`) sends `Authorization: DPoP <token>`
 * with a fresh proof per request, and answers a 401 `use_dpop_nonce` challenge once with
 * the downstream's nonce (see `dpopResourceRequest`) before any refresh.
 *
 * @example
 * const res = await request.oidc.fetch('https://details.internal/products/1')
 */
export async function forwardFetch (forwarding: Forwarding, url: string | URL, init: RequestInit = {}): Promise<Response> {
  const target = allowedTarget(url, forwarding.downstreams)
  const token = await forwarding.accessToken(target)
  const tracing = tracingHeaders(forwarding.incoming)

  const replayable = isReplayable(init.body)
  const dpop = await forwarding.dpop?.()
  const send = async (accessToken: string): Promise<Response> => {
    const headers = new Headers(init.headers)
    for (const name of STRIPPED_HEADERS) headers.delete(name)
    for (const [name, value] of Object.entries(tracing)) {
      if (!headers.has(name)) headers.set(name, value)
    }
    if (dpop !== undefined) return await dpopResourceRequest(dpop, accessToken, target, { ...init, headers }, replayable)
    headers.set('authorization', `Bearer ${accessToken}`)
    return await fetch(target, { ...init, headers, redirect: 'manual' })
  }

  const first = await send(token)
  if (first.status !== 401) return first
  if (replayable) await discard(first)
  const fresh = await forwarding.renew(token, target).catch(async (err: unknown) => {
    await discard(first)
    throw err
  })
  if (fresh === undefined) {
    await discard(first)
    throw new OidcDownstreamUnauthorizedError()
  }
  if (!replayable) return first
  const retry = await send(fresh)
  if (retry.status !== 401) return retry
  await discard(retry)
  throw new OidcDownstreamUnauthorizedError()
}

/**
 * `request.oidc.forwardHeaders(url?)`: headers for the application's own HTTP
 * client — the incoming request's tracing headers, plus `authorization: Bearer
 * <access token>` (refreshed first when about to expire) only when `url` is given
 * and allow-listed: the token is never handed out without knowing where it goes.
 * A DPoP session's token goes as `authorization: DPoP <token>` with a `dpop` proof for
 * one `method` request to `url` (a proof is single-use: ask again for each request).
 *
 * @example
 * const headers = await request.oidc.forwardHeaders('https://reviews.internal/')
 * await undici.request('https://reviews.internal/reviews/1', { headers })
 */
export async function forwardHeaders (forwarding: Forwarding, url?: string | URL, method = 'GET'): Promise<Record<string, string>> {
  const headers = tracingHeaders(forwarding.incoming)
  if (url === undefined) return headers
  const target = allowedTarget(url, forwarding.downstreams)
  const token = await forwarding.accessToken(target)
  const dpop = await forwarding.dpop?.()
  if (dpop === undefined) return { ...headers, authorization: `Bearer ${token}` }
  return { ...headers, authorization: `DPoP ${token}`, dpop: await dpopProof(dpop, method, target, token) }
}
