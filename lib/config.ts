import type { SessionStore } from '@fastify/session'
import { OidcConfigError } from './errors.js'
import { resolveProviders, type ResolvedProvider } from './provider/provider-config.js'
import { resolveSessionCookie } from './session/cookie-name.js'
import { parseRedisUrl, redactStoreUrl } from './session/redis-url.js'
import { resolveDownstreams, type ResolvedExchange } from './downstream-config.js'
import { asBool, asList, asString, settingsReader } from './settings.js'
import type { FastifyOidcOptions } from './options.js'
import type { OidcAuditEvent } from './audit.js'

/**
 * The validated, frozen configuration every other module reads: the shared
 * settings, every provider (`providers`, the first is the default one) and,
 * at the top level, the default provider's settings.
 */
export interface ResolvedConfig extends Pick<ResolvedProvider,
  'issuer' | 'clientId' | 'clientSecret' | 'redirectUri' | 'scope' | 'endpoints' | 'discoveryUrl' |
  'postLogoutRedirectUri' | 'rolesClaim' | 'idTokenSigningAlgs'> {
  providerName: string
  providers: readonly ResolvedProvider[]
  baseUrl: string
  sessionSecrets: string[]
  /** The app's own callback URLs (`OIDC_REDIRECT_URIS`), absolute, under the base URL. */
  redirectUris: string[]
  /** Origins that receive the user's own access token (`OIDC_DOWNSTREAMS`), without those declared with an exchange. */
  downstreams: string[]
  /** Origins whose calls carry a token exchanged for them at the IdP (RFC 8693, `OIDC_DOWNSTREAM_EXCHANGE`). */
  downstreamExchanges: readonly ResolvedExchange[]
  /** `memory`, a `redis://` / `rediss://` URL, or a store object. */
  sessionStore: 'memory' | string | SessionStore
  allowHttp: boolean
  prefix: string
  refreshLeeway: number
  clockTolerance: number
  httpTimeout: number
  /** Seconds between refreshes of the providers' metadata and keys. */
  metadataRefresh: number
  sessionMaxAge: number
  /** Seconds without a request after which the session ends (rolling lifetime); 0: off. */
  sessionIdleTimeout: number
  revokeOnLogout: boolean
  memoryStoreMax: number
  /** The session cookie: `__Host-oidc.sid` on https without a domain, else `oidc.sid` (see `resolveSessionCookie`). */
  cookieName: string
  /** `Domain` of the session cookie; `undefined`: host-only. */
  cookieDomain: string | undefined
  secureCookies: boolean
  onAudit: ((event: OidcAuditEvent) => void) | undefined
}

/** `OIDC_REDIRECT_URIS`: each entry absolute (or a path) under the base URL, without fragment or credentials. */
function resolveRedirectUris (raw: unknown, baseUrl: string | undefined, problems: string[]): string[] {
  // Without a valid base URL (reported already) nothing can be checked against it.
  if (raw === undefined || baseUrl === undefined) return []
  if (!Array.isArray(raw)) {
    problems.push('redirectUris: expected an array of URLs under the base URL, such as http://localhost:3000/authorize')
    return []
  }
  const uris: string[] = []
  for (const entry of raw as unknown[]) {
    const text = JSON.stringify(String(entry).replace(/\/\/[^@/]*@/, '//***@').slice(0, 80))
    const url: URL | undefined = typeof entry === 'string' && URL.canParse(entry, baseUrl) ? new URL(entry, baseUrl) : undefined
    if (url === undefined || url.origin !== baseUrl || url.hash !== '' || url.username !== '' || url.password !== '') {
      problems.push(`OIDC_REDIRECT_URIS: expected URLs under OIDC_BASE_URL ${baseUrl} (same scheme, host and port; no fragment), got ${text}`)
    } else {
      uris.push(url.href)
    }
  }
  return uris
}

/**
 * Reads env vars under explicit options, validates everything and throws one
 * `FST_OIDC_CONFIG_INVALID` naming every bad setting.
 *
 * @example
 * const config = resolveConfig({ clientId: 'app' }) // the rest from OIDC_* env vars
 */
export function resolveConfig (options: FastifyOidcOptions = {}): Readonly<ResolvedConfig> {
  const reader = settingsReader(options.env ?? process.env, options.allowHttp)
  const { problems, allowHttp, read, pick, checkUrl, numberSetting } = reader

  const rawBase = checkUrl(pick(options.baseUrl, 'OIDC_BASE_URL', asString, 'a URL'), 'OIDC_BASE_URL', { required: true, idp: false })
  let baseUrl: string | undefined
  if (rawBase !== undefined && URL.canParse(rawBase)) {
    const base = new URL(rawBase)
    if (base.pathname !== '/' || base.search !== '') problems.push('OIDC_BASE_URL: expected an origin only (scheme, host and port), without path or query')
    baseUrl = base.origin
  }

  const rawSecret = options.sessionSecret ?? read('OIDC_SESSION_SECRET')
  const sessionSecrets = rawSecret === undefined ? [] : Array.isArray(rawSecret) ? rawSecret : asList(rawSecret)
  if (sessionSecrets.length === 0) problems.push('OIDC_SESSION_SECRET: required, at least 32 characters (a comma-separated list rotates keys)')
  else if (sessionSecrets.some((s) => typeof s !== 'string' || s.length < 32)) problems.push('OIDC_SESSION_SECRET: every secret must be at least 32 characters')

  const redirectUris = resolveRedirectUris(pick(options.redirectUris, 'OIDC_REDIRECT_URIS', asList, 'a comma-separated list of URLs'), baseUrl, problems)

  const prefix = options.prefix ?? '/auth'
  if (!/^\/[\w\-/]*$/.test(prefix) || prefix.endsWith('/')) problems.push(`prefix: expected a path such as /auth, got ${JSON.stringify(prefix)}`)
  const providers = resolveProviders(reader, options, { baseUrl, prefix })

  const { downstreams, exchanges: downstreamExchanges } = resolveDownstreams(reader, options.downstreams)

  let sessionStore: 'memory' | string | SessionStore = 'memory'
  const storeOption = options.sessionStore ?? read('OIDC_SESSION_STORE')
  if (typeof storeOption === 'object' && storeOption !== null) {
    sessionStore = storeOption
  } else if (typeof storeOption === 'string' && parseRedisUrl(storeOption) !== undefined) {
    sessionStore = storeOption
  } else if (storeOption !== undefined && storeOption !== 'memory') {
    problems.push(`OIDC_SESSION_STORE: expected memory, a redis:// or rediss:// URL, redis+cluster://host:port[,host:port…], redis+sentinel://host:port[,host:port…]/<master-name> (or their rediss+ forms), or a @fastify/session store object, got ${redactStoreUrl(String(storeOption))}`)
  }

  const refreshLeeway = numberSetting(options.refreshLeeway, 'OIDC_REFRESH_LEEWAY', 30, 0, 3600)
  const clockTolerance = numberSetting(options.clockTolerance, 'OIDC_CLOCK_TOLERANCE', 60, 0, 300)
  const httpTimeout = numberSetting(options.httpTimeout, 'OIDC_HTTP_TIMEOUT', 5000, 100, 120000)
  const metadataRefresh = numberSetting(options.metadataRefresh, 'OIDC_METADATA_REFRESH', 600, 1, 86400)
  const sessionMaxAge = numberSetting(options.sessionMaxAge, 'OIDC_SESSION_MAX_AGE', 8 * 3600, 60, 400 * 24 * 3600)
  const sessionIdleTimeout = numberSetting(options.sessionIdleTimeout, 'OIDC_SESSION_IDLE_TIMEOUT', 0, 0, 400 * 24 * 3600)
  const memoryStoreMax = numberSetting(options.memoryStoreMax, 'OIDC_MEMORY_STORE_MAX', 10000, 1, 10_000_000)

  const revokeOnLogout = pick(options.revokeOnLogout, 'OIDC_REVOKE_ON_LOGOUT', asBool, 'true or false') ?? true
  const cookie = resolveSessionCookie(options, baseUrl, reader)
  if (options.onAudit !== undefined && typeof options.onAudit !== 'function') problems.push('onAudit: expected a function')

  if (problems.length > 0) throw new OidcConfigError(problems.map((p) => `  - ${p}`).join('\n'))

  const provider = providers[0]!
  return Object.freeze({
    providerName: provider.name,
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    redirectUri: provider.redirectUri,
    scope: provider.scope,
    endpoints: provider.endpoints,
    discoveryUrl: provider.discoveryUrl,
    postLogoutRedirectUri: provider.postLogoutRedirectUri,
    rolesClaim: provider.rolesClaim,
    idTokenSigningAlgs: provider.idTokenSigningAlgs,
    providers: Object.freeze(providers.map((p) => Object.freeze(p))),
    baseUrl: baseUrl!,
    sessionSecrets,
    redirectUris,
    downstreams,
    downstreamExchanges: Object.freeze(downstreamExchanges.map((e) => Object.freeze(e))),
    sessionStore,
    allowHttp,
    prefix,
    refreshLeeway,
    clockTolerance,
    httpTimeout,
    metadataRefresh,
    sessionMaxAge,
    sessionIdleTimeout,
    revokeOnLogout,
    memoryStoreMax,
    cookieName: cookie.name,
    cookieDomain: cookie.domain,
    secureCookies: baseUrl!.startsWith('https:'),
    onAudit: options.onAudit
  })
}
