// Shared set-up and checks for the attack tests against the hostile OP: start the
// OP and the app, drive a browser to the callback, and check that a rejected login
// left nothing behind (no session, one audit event, nothing secret anywhere).
import type { Test } from 'tap'
import type { OidcAuditEvent } from '../../lib/index.js'
import { Browser, type BrowserResponse } from './browser.js'
import { buildApp, type BuildAppOptions, type TestApp } from './build-app.js'
import { startHostileOp } from './hostile-op.js'
import type { HostileOp, HostileOpOptions, MaybePromise, TokenContext, TokenScript } from './hostile-op.js'
import { freePort } from './provider.js'

export interface Attack extends TestApp {
  op: HostileOp
  /** The victim's browser. */
  browser: Browser
  /** Values that must never appear in an answer body, a Set-Cookie or a log line. */
  secrets: Set<string>
}

export interface AttackOptions {
  op?: HostileOpOptions
  app?: Partial<BuildAppOptions>
  /** Runs once the OP is up, before the app discovers it (e.g. to change its metadata). */
  beforeApp?: (op: HostileOp) => void
}

/** A hostile OP and the app registered against it (client 'test-client' / 'test-secret'). */
export async function startAttack (t: Test, options: AttackOptions = {}): Promise<Attack> {
  const op = await startHostileOp(t, options.op)
  options.beforeApp?.(op)
  const app = await buildApp(t, {
    port: await freePort(),
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret ?? undefined,
    ...options.app
  })
  const attack: Attack = { ...app, op, browser: new Browser(), secrets: new Set() }
  if (op.clientSecret !== null) attack.secrets.add(op.clientSecret)
  scriptToken(attack)
  return attack
}

/**
 * Sets the OP's token endpoint script (none: the default answer) and records every
 * code, verifier and token it sees or sends as a secret.
 */
export function scriptToken (attack: Attack, script?: (ctx: TokenContext) => MaybePromise<TokenScript | undefined>): void {
  attack.op.onToken = async (ctx) => {
    for (const name of ['code', 'code_verifier', 'refresh_token']) {
      const value = ctx.params.get(name)
      if (value !== null && value !== '') attack.secrets.add(value)
    }
    attack.secrets.add(ctx.accessToken)
    attack.secrets.add(ctx.refreshToken)
    let answer = await script?.(ctx)
    if (answer === undefined && ctx.error === undefined) answer = { body: await ctx.defaultBody() }
    const body = answer?.body
    if (typeof body === 'object' && body !== null) {
      for (const name of ['access_token', 'refresh_token', 'id_token']) {
        const value = (body as Record<string, unknown>)[name]
        if (typeof value === 'string' && value !== '') attack.secrets.add(value)
      }
    }
    return answer
  }
}

/**
 * GET /auth/login and follow the redirects up to the OP's redirect back to the
 * callback, without requesting it. Returns the callback URL; its code and state and
 * the authorization request's nonce become secrets.
 */
export async function reachCallback (attack: Attack, browser = attack.browser, path = '/auth/login'): Promise<URL> {
  const res = await browser.follow(`${attack.baseUrl}${path}`, { stopAt: (url) => url.pathname === '/auth/callback' })
  if (res.stoppedAt === undefined) throw new Error(`no redirect to the callback: ${res.hops.map((h) => `${h.status} ${h.url}`).join(' -> ')}`)
  const authorize = res.hops[0]?.location
  const nonce = authorize == null ? null : new URL(authorize).searchParams.get('nonce')
  if (nonce !== null) attack.secrets.add(nonce)
  const callback = new URL(res.stoppedAt)
  for (const name of ['code', 'state']) {
    const value = callback.searchParams.get(name)
    if (value !== null && value !== '') attack.secrets.add(value)
  }
  return callback
}

export interface CallbackAnswer extends BrowserResponse {
  /** Audit events emitted while the callback was answered. */
  events: OidcAuditEvent[]
  /** How long the callback took, ms. */
  elapsed: number
  browser: Browser
}

/** GET the callback URL in a browser (default: the victim's). */
export async function hitCallback (
  attack: Attack,
  url: URL | string,
  { browser = attack.browser, headers }: { browser?: Browser, headers?: Record<string, string> } = {}
): Promise<CallbackAnswer> {
  const mark = attack.events.length
  const start = Date.now()
  const res = await browser.get(url, headers)
  return { ...res, elapsed: Date.now() - start, events: attack.events.slice(mark), browser }
}

/** Names of the cookies a response sets (with a value, i.e. not cleared). */
export function cookiesSet (res: BrowserResponse): string[] {
  return res.headers.getSetCookie()
    .filter((c) => !/;\s*max-age=0\b/i.test(c) && !/^[^=]+=;/.test(c))
    .map((c) => c.slice(0, c.indexOf('=')))
}

/** The OP's requests after discovery, as 'METHOD /path'. */
export function opCalls (op: HostileOp): string[] {
  return op.log.filter((r) => r.path !== '/.well-known/openid-configuration').map((r) => `${r.method} ${r.path}`)
}

export interface Rejection {
  status: number
  code: string
  reason: string
}

/**
 * A rejected callback: status and error code, exactly one audit event
 * (`login_failure` with `reason`), no session cookie, `/auth/session` anonymous,
 * and no secret leaked.
 */
export async function expectRejected (t: Test, attack: Attack, res: CallbackAnswer, expected: Rejection): Promise<void> {
  t.equal(res.status, expected.status, `answers ${expected.status}`)
  let body: unknown
  try {
    body = JSON.parse(res.body)
  } catch {
    body = res.body
  }
  t.match(body, { statusCode: expected.status, code: expected.code }, `error code ${expected.code}`)
  t.same(res.events.map((e) => [e.type, e.reason]), [['login_failure', expected.reason]], `one login_failure (${expected.reason})`)
  t.notOk(cookiesSet(res).includes('oidc.sid'), 'no session cookie')
  const session = await res.browser.get(`${attack.baseUrl}/auth/session`)
  t.same(JSON.parse(session.body), { authenticated: false, user: null, expiresAt: null }, 'the browser is not logged in')
  expectNoLeak(t, attack, [res, session])
}

/**
 * No secret in the bodies or the Set-Cookie headers of `responses`, nor in any
 * log line. The login transaction cookie is named after the state (which the
 * browser itself sent): only its value and attributes are checked.
 */
export function expectNoLeak (t: Test, attack: Attack, responses: BrowserResponse[]): void {
  const secrets = [...attack.secrets]
  t.ok(secrets.length > 0, 'there are secrets to look for')
  const logs = attack.logs.join('\n')
  const leaks: string[] = []
  for (const secret of secrets) {
    const short = `${secret.slice(0, 8)}…`
    if (logs.includes(secret)) leaks.push(`${short} in the logs`)
    for (const res of responses) {
      if (res.body.includes(secret)) leaks.push(`${short} in the body of ${res.url}`)
      for (const cookie of res.headers.getSetCookie()) {
        const checked = cookie.startsWith('oidc.tx.') ? cookie.slice(cookie.indexOf('=')) : cookie
        if (checked.includes(secret)) leaks.push(`${short} in a Set-Cookie of ${res.url}`)
      }
    }
  }
  t.same(leaks, [], 'no code, token, secret or state in answers, cookies or logs')
}

/** A successful callback: 302 to `returnTo`, a session cookie, one `login` event, `/auth/session` authenticated. */
export async function expectLoggedIn (t: Test, attack: Attack, res: CallbackAnswer, returnTo = '/'): Promise<void> {
  t.equal(res.status, 302, 'the callback redirects')
  t.equal(res.headers.get('location'), returnTo, `to ${returnTo}`)
  t.ok(cookiesSet(res).includes('oidc.sid'), 'a session cookie is set')
  t.same(res.events.map((e) => [e.type, e.sub]), [['login', attack.op.user.sub]], 'one login event')
  const session = await res.browser.get(`${attack.baseUrl}/auth/session`)
  const body = JSON.parse(session.body) as { authenticated: boolean, user: { sub?: string } | null }
  t.equal(body.authenticated, true, 'the browser is logged in')
  t.equal(body.user?.sub, attack.op.user.sub)
}
