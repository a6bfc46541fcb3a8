// Two hostile OPs configured as two providers of one app (`a`, the default, on
// /auth/callback; `b` on /auth/callback/b), each able to play an attacker
// against the other.
import type { Test } from 'tap'
import type { FastifyOidcOptions, OidcProviderOptions } from '../../lib/index.js'
import { buildApp, type BuildAppOptions, type TestApp } from './build-app.js'
import { startHostileOp, type HostileOp } from './hostile-op.js'
import { freePort } from './provider.js'

export interface TwoProviders extends TestApp {
  a: HostileOp
  b: HostileOp
}

/** The provider options of `op` under `name`. */
export function providerOf (name: string, op: HostileOp, extra: Partial<OidcProviderOptions> = {}): OidcProviderOptions {
  return { name, issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret ?? undefined, ...extra }
}

export async function twoProviders (t: Test, options: Partial<BuildAppOptions> & { b?: Partial<OidcProviderOptions> } = {}): Promise<TwoProviders> {
  const [a, b] = await Promise.all([startHostileOp(t), startHostileOp(t)])
  const { b: bOptions, ...appOptions } = options
  const providers: FastifyOidcOptions['providers'] = [providerOf('a', a), providerOf('b', b, bOptions)]
  const app = await buildApp(t, { port: await freePort(), providers, ...appOptions })
  return { ...app, a, b }
}
