// Resolving a configuration with downstream settings, for the downstream config tests:
// the same base settings, and the lines of a refused configuration.
import type { Test } from 'tap'
import { resolveConfig, type FastifyOidcOptions } from '../../lib/index.js'

const BASE = {
  OIDC_ISSUER: 'https://idp.example.com',
  OIDC_CLIENT_ID: 'shop',
  OIDC_BASE_URL: 'https://shop.example.com',
  OIDC_SESSION_SECRET: 'downstream-config-secret-0123456789abc'
}

/** The resolved configuration of the base settings plus `env` and `options`. */
export function resolve (env: Record<string, string> = {}, options: FastifyOidcOptions = {}): ReturnType<typeof resolveConfig> {
  return resolveConfig({ env: { ...BASE, ...env }, ...options })
}

/** The problem lines of a configuration that must be refused (FST_OIDC_CONFIG_INVALID); a failed assertion when it is accepted. */
export function problems (t: Test, env: Record<string, string>, options: FastifyOidcOptions = {}): string[] {
  try {
    resolve(env, options)
  } catch (err) {
    t.equal((err as { code?: string }).code, 'FST_OIDC_CONFIG_INVALID')
    return (err as Error).message.split('\n').slice(1).map((line) => line.replace(/^ {2}- /, ''))
  }
  t.fail('the configuration was accepted')
  return []
}
