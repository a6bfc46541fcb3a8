import { asBool, asList, asString, isAsymmetricAlg, settingsReader } from '../settings.js'
import { OidcConfigError } from '../errors.js'
import { readClientKey, type ClientKey } from '../provider/client-key.js'
import { normalizeTyp } from '../tokens/access-token.js'
import type { ReplayStore } from '../tokens/dpop-replay.js'
import type { OidcResourceServerOptions } from './types.js'

/** Introspection client settings; `endpoint` is undefined until discovered. */
export interface IntrospectionConfig {
  endpoint: string | undefined
  clientId: string
  /** How the client authenticates at the introspection endpoint. */
  method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
  clientSecret: string | undefined
  clientKey: ClientKey | undefined
  /** Seconds. */
  cacheTtl: number
}

const INTROSPECTION_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const

/** The validated, frozen configuration of `oidcResourceServer`. */
export interface ResolvedResourceServerConfig {
  issuer: string
  audiences: string[]
  discoveryUrl: string
  jwksUri: string | undefined
  /** Undefined: opaque tokens are refused. */
  introspection: IntrospectionConfig | undefined
  /** Seconds a verified JWT is reused (never past its `exp`); 0: no cache. */
  verifiedTokenCacheTtl: number
  /** Seconds the last good JWKS is still used while refetches fail. */
  jwksMaxStale: number
  /** Normalized `typ` values (lowercase, no `application/`), or `'any'`. */
  accessTokenTypes: string[] | 'any'
  algorithms: string[]
  clockTolerance: number
  httpTimeout: number
  allowHttp: boolean
  realm: string
  rolesClaim: string
  /** DPoP (RFC 9449): `allowed` (DPoP-bound and plain bearer tokens) or `required` (DPoP-bound only). */
  dpop: 'allowed' | 'required'
  /** Where DPoP proof ids are claimed once; undefined: a bounded in-memory cache. */
  replayStore: ReplayStore | undefined
}

const DPOP_MODES = ['allowed', 'required'] as const

/** RFC 9068 recommends asymmetric signatures; `none` and HMAC are never accepted. */
export const DEFAULT_ACCESS_TOKEN_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']
const DEFAULT_TYPES = ['at+jwt', 'application/at+jwt']
/** What an RFC 7235 quoted-string may hold without escaping (no `"`, no `\`, no control characters). */
const QUOTABLE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * Reads `oidcResourceServer` options over `OIDC_*` env vars, validates them all
 * and throws one `FST_OIDC_CONFIG_INVALID` naming every bad setting.
 *
 * @example
 * const config = resolveResourceServerConfig({ audience: 'https://api.example.com' }) // issuer from OIDC_ISSUER
 */
export function resolveResourceServerConfig (options: OidcResourceServerOptions = {}): Readonly<ResolvedResourceServerConfig> {
  const { problems, allowHttp, read, pick, checkUrl, numberSetting } = settingsReader(options.env ?? process.env, options.allowHttp)

  const issuer = checkUrl(pick(options.issuer, 'OIDC_ISSUER', asString, 'a URL'), 'OIDC_ISSUER', { required: true })
  const rawAudience = options.audience ?? read('OIDC_AUDIENCE')
  const audiences = rawAudience === undefined ? [] : Array.isArray(rawAudience) ? rawAudience : asList(rawAudience)
  if (audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a !== '')) {
    problems.push('OIDC_AUDIENCE: required, the aud value(s) this API accepts (comma-separated)')
  }
  const discoveryUrl = checkUrl(pick(options.discoveryUrl, 'OIDC_DISCOVERY_URL', asString, 'a URL'), 'OIDC_DISCOVERY_URL') ?? issuer
  const jwksUri = checkUrl(pick(options.jwksUri, 'OIDC_JWKS_URI', asString, 'a URL'), 'OIDC_JWKS_URI')

  const endpoint = checkUrl(pick(options.introspectionEndpoint, 'OIDC_INTROSPECTION_ENDPOINT', asString, 'a URL'), 'OIDC_INTROSPECTION_ENDPOINT')
  const ownClientId = pick(options.clientId, 'OIDC_INTROSPECTION_CLIENT_ID', asString, 'a string')
  const introspect = pick(options.introspect, 'OIDC_INTROSPECT', asBool, 'true or false') ?? (endpoint !== undefined || ownClientId !== undefined)
  const cacheTtl = numberSetting(options.introspectionCacheTtl, 'OIDC_INTROSPECTION_CACHE_TTL', 60, 0, 3600)
  let introspection: IntrospectionConfig | undefined
  if (introspect) {
    const clientId = ownClientId ?? read('OIDC_CLIENT_ID')
    const clientSecret = (pick(options.clientSecret, 'OIDC_INTROSPECTION_CLIENT_SECRET', asString, 'a string') ?? read('OIDC_CLIENT_SECRET')) || undefined
    if (clientId === undefined || clientId === '') problems.push('OIDC_INTROSPECTION_CLIENT_ID: required for introspection (or OIDC_CLIENT_ID)')
    const rawKey = options.clientPrivateKey ?? read('OIDC_CLIENT_PRIVATE_KEY')
    const keyFile = pick(options.clientPrivateKeyFile, 'OIDC_CLIENT_PRIVATE_KEY_FILE', asString, 'a file path')
    const clientKey = readClientKey({
      key: { value: rawKey, name: 'OIDC_CLIENT_PRIVATE_KEY' },
      file: { value: keyFile, name: 'OIDC_CLIENT_PRIVATE_KEY_FILE' },
      kid: { value: pick(options.clientKeyId, 'OIDC_CLIENT_KEY_ID', asString, 'a key id'), name: 'OIDC_CLIENT_KEY_ID' }
    }, problems)
    const keyGiven = rawKey !== undefined || keyFile !== undefined
    const asMethod = (raw: string): IntrospectionConfig['method'] | undefined => (INTROSPECTION_METHODS as readonly string[]).includes(raw) ? raw as IntrospectionConfig['method'] : undefined
    const explicit = pick(options.tokenAuthMethod, 'OIDC_TOKEN_AUTH_METHOD', asMethod, `${INTROSPECTION_METHODS.join(', ')} (introspection needs client authentication)`)
    const method = explicit ?? (keyGiven && clientSecret === undefined ? 'private_key_jwt' : 'client_secret_basic')
    if (!INTROSPECTION_METHODS.includes(method)) {
      problems.push(`OIDC_TOKEN_AUTH_METHOD: expected ${INTROSPECTION_METHODS.join(', ')} (introspection needs client authentication)`)
    } else if (method === 'private_key_jwt' && !keyGiven) {
      problems.push('OIDC_TOKEN_AUTH_METHOD=private_key_jwt: needs OIDC_CLIENT_PRIVATE_KEY (a PEM or a JWK) or OIDC_CLIENT_PRIVATE_KEY_FILE')
    } else if (method !== 'private_key_jwt' && clientSecret === undefined) {
      problems.push('OIDC_INTROSPECTION_CLIENT_SECRET: required for introspection (or OIDC_CLIENT_SECRET, or a key with OIDC_CLIENT_PRIVATE_KEY)')
    }
    introspection = Object.freeze({ endpoint, clientId: clientId!, method, clientSecret, clientKey, cacheTtl })
  }

  const verifiedTokenCacheTtl = numberSetting(options.verifiedTokenCacheTtl, 'OIDC_BEARER_CACHE_TTL', 60, 0, 3600)
  const jwksMaxStale = numberSetting(options.jwksMaxStale, 'OIDC_JWKS_MAX_STALE', 86_400, 0, 604_800)

  const types = pick(options.accessTokenTypes, 'OIDC_ACCESS_TOKEN_TYPES', asList, 'a comma-separated list of JWT typ values, or any') ?? DEFAULT_TYPES
  if (types.length === 0) problems.push('OIDC_ACCESS_TOKEN_TYPES: expected at least one typ value, or any')
  const algorithms = pick(options.algorithms, 'OIDC_ACCESS_TOKEN_ALGS', asList, 'a comma-separated list of JWS algorithms') ?? DEFAULT_ACCESS_TOKEN_ALGS
  const refused = algorithms.filter((alg) => !isAsymmetricAlg(alg))
  if (algorithms.length === 0 || refused.length > 0) {
    problems.push(`OIDC_ACCESS_TOKEN_ALGS: expected asymmetric JWS algorithms such as RS256 or ES256 (none and HMAC are never accepted), got ${JSON.stringify(refused.join(',').slice(0, 60))}`)
  }

  const clockTolerance = numberSetting(options.clockTolerance, 'OIDC_CLOCK_TOLERANCE', 60, 0, 300)
  const httpTimeout = numberSetting(options.httpTimeout, 'OIDC_HTTP_TIMEOUT', 5000, 100, 120000)
  const realm = pick(options.realm, 'OIDC_REALM', asString, 'a string') ?? audiences[0]
  if (realm !== undefined && !QUOTABLE.test(realm)) problems.push('OIDC_REALM: expected printable ASCII without " or \\')
  const rolesClaim = pick(options.rolesClaim, 'OIDC_ROLES_CLAIM', asString, 'a claim path') ?? 'roles'

  const asMode = (raw: string): ResolvedResourceServerConfig['dpop'] | undefined => (DPOP_MODES as readonly string[]).includes(raw) ? raw as ResolvedResourceServerConfig['dpop'] : undefined
  const dpop = pick(options.dpop, 'OIDC_DPOP', asMode, 'allowed or required (DPoP-bound tokens: accepted besides plain bearer tokens, or the only ones)') ?? 'allowed'
  if (!DPOP_MODES.includes(dpop)) problems.push('OIDC_DPOP: expected allowed or required (DPoP-bound tokens: accepted besides plain bearer tokens, or the only ones)')
  const replayStore = options.replayStore
  if (replayStore !== undefined && typeof (replayStore as Partial<ReplayStore> | null)?.claimOnce !== 'function') {
    problems.push('replayStore: expected an object with a claimOnce(key, ttlMs) method (e.g. a RedisStore)')
  }

  if (problems.length > 0) throw new OidcConfigError(problems.map((p) => `  - ${p}`).join('\n'))

  return Object.freeze({
    issuer: issuer!,
    audiences: [...audiences],
    discoveryUrl: discoveryUrl!,
    jwksUri,
    introspection,
    verifiedTokenCacheTtl,
    jwksMaxStale,
    accessTokenTypes: types.includes('any') ? 'any' : [...new Set(types.map(normalizeTyp))],
    algorithms: [...algorithms],
    clockTolerance,
    httpTimeout,
    allowHttp,
    realm: realm!,
    rolesClaim,
    dpop,
    replayStore
  })
}
