// Without `idTokenSigningAlgs`, the accepted ID-token algorithms are the asymmetric
// ones the IdP advertises in discovery; when it advertises none (or only HS*/none,
// which are never taken from discovery) RS256 alone is accepted.
import t from 'tap'
import type { Test } from 'tap'
import { buildApp } from '../helpers/build-app.js'
import { Browser } from '../helpers/browser.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import type { HostileOp, IdTokenSignOptions } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import type { OidcAuditEvent } from '../../lib/index.js'

/** An OP advertising `algs` (undefined: the field is absent) and an app that trusts discovery. */
async function setup (t: Test, algs: string[] | undefined): Promise<{ op: HostileOp, baseUrl: string, events: OidcAuditEvent[] }> {
  const op = await startHostileOp(t)
  if (algs === undefined) delete op.metadata.id_token_signing_alg_values_supported
  else op.metadata.id_token_signing_alg_values_supported = algs
  const app = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  return { op, baseUrl: app.baseUrl, events: app.events }
}

/** One login whose ID token is signed as `sign` says; answers the callback status and the audit event. */
async function loginSignedWith (op: HostileOp, baseUrl: string, events: OidcAuditEvent[], sign: IdTokenSignOptions): Promise<[number, string, string | undefined]> {
  op.onToken = async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign(ctx.defaultClaims(), sign) } })
  const mark = events.length
  const res = await new Browser().follow(`${baseUrl}/auth/login`, { stopAt: (url) => url.origin === baseUrl && url.pathname !== '/auth/callback' })
  const callback = res.hops.find((h) => new URL(h.url).pathname === '/auth/callback')
  const event = events[mark]
  return [callback?.status ?? 0, event?.type ?? '', event?.reason]
}

t.test('nothing advertised: RS256 only', async (t) => {
  const { op, baseUrl, events } = await setup(t, undefined)
  t.same(await loginSignedWith(op, baseUrl, events, { alg: 'RS256' }), [302, 'login', undefined], 'RS256 logs in')
  t.same(await loginSignedWith(op, baseUrl, events, { alg: 'ES256' }), [401, 'login_failure', 'id_token_alg'], 'ES256 is refused')
})

t.test('only HS256 and none advertised: neither is taken from discovery, RS256 only', async (t) => {
  const { op, baseUrl, events } = await setup(t, ['HS256', 'none'])
  t.same(await loginSignedWith(op, baseUrl, events, { alg: 'RS256' }), [302, 'login', undefined], 'RS256 logs in')
  t.same(await loginSignedWith(op, baseUrl, events, { alg: 'HS256', key: 'test-secret', kid: null }), [401, 'login_failure', 'id_token_alg'],
    'HS256 keyed by the client secret is refused')
  t.same(await loginSignedWith(op, baseUrl, events, { alg: 'none' }), [401, 'login_failure', 'id_token_alg'], 'none is refused')
})

t.test('ES256 advertised: ES256 only', async (t) => {
  const { op, baseUrl, events } = await setup(t, ['ES256', 'HS256'])
  t.same(await loginSignedWith(op, baseUrl, events, { alg: 'ES256' }), [302, 'login', undefined], 'ES256 logs in')
  t.same(await loginSignedWith(op, baseUrl, events, { alg: 'RS256' }), [401, 'login_failure', 'id_token_alg'], 'RS256 is refused')
})
