import { asBool, asList, asString, isAsymmetricAlg, type SettingsReader } from '../settings.js'
import type { FastifyOidcOptions, OidcProviderOptions } from '../options.js'
import type { OidcEndpoints } from './types.js'
import { resolveClientAuth, type ClientAuthSettings } from './client-auth-config.js'
import { NO_QUIRKS, PRESETS, presetDefaults, type PresetName, type ProviderQuirks } from './presets.js'

/** One provider's validated settings. */
export interface ResolvedProvider extends ProviderQuirks, ClientAuthSettings {
  /** `default` for the single-provider configuration; else the name in `OIDC_PROVIDERS` / `providers`. */
  name: string
  preset: PresetName | undefined
  issuer: string
  clientId: string
  clientSecret: string | undefined
  /** The default provider's is base + prefix + `/callback`; another's base + prefix + `/callback/<name>`. */
  redirectUri: string
  scope: string
  endpoints: OidcEndpoints
  discoveryUrl: string
  postLogoutRedirectUri: string
  rolesClaim: string
  idTokenSigningAlgs: string[] | undefined
  /** `OIDC_FETCH_USERINFO`: fetch userinfo after login and merge it into the claims. */
  fetchUserinfo: boolean
}

/** Settings every provider shares. */
export interface SharedProviderSettings {
  baseUrl: string | undefined
  prefix: string
}

/** Env suffix and option of each per-provider endpoint override. */
const ENDPOINT_SUFFIXES: Record<keyof OidcEndpoints, string> = {
  authorization: 'AUTHORIZATION_ENDPOINT',
  token: 'TOKEN_ENDPOINT',
  jwks: 'JWKS_URI',
  userinfo: 'USERINFO_ENDPOINT',
  endSession: 'END_SESSION_ENDPOINT',
  revocation: 'REVOCATION_ENDPOINT',
  introspection: 'INTROSPECTION_ENDPOINT'
}
/**
 * Options (and env suffixes) that belong to one provider: with several providers, they go in `providers` / `OIDC_<NAME>_*`.
 * (`dpop` / `OIDC_DPOP` may also be set once for all of them.)
 */
const PROVIDER_OPTIONS: Record<Exclude<keyof OidcProviderOptions, 'name' | 'dpop'>, string> = {
  preset: 'PRESET',
  issuer: 'ISSUER',
  clientId: 'CLIENT_ID',
  clientSecret: 'CLIENT_SECRET',
  scope: 'SCOPE',
  endpoints: 'the *_ENDPOINT and JWKS_URI',
  discoveryUrl: 'DISCOVERY_URL',
  postLogoutRedirectUri: 'POST_LOGOUT_REDIRECT_URI',
  rolesClaim: 'ROLES_CLAIM',
  idTokenSigningAlgs: 'ID_TOKEN_ALGS',
  fetchUserinfo: 'FETCH_USERINFO',
  serverUrl: 'SERVER_URL',
  realm: 'REALM',
  tenant: 'TENANT',
  tokenAuthMethod: 'TOKEN_AUTH_METHOD',
  clientPrivateKey: 'CLIENT_PRIVATE_KEY',
  clientPrivateKeyFile: 'CLIENT_PRIVATE_KEY_FILE',
  clientKeyId: 'CLIENT_KEY_ID',
  par: 'PAR'
}
const PER_PROVIDER_SUFFIXES = [...Object.values(PROVIDER_OPTIONS).filter((s) => !s.includes(' ')), ...Object.values(ENDPOINT_SUFFIXES)]
const HMAC_ALGS = new Set(['HS256', 'HS384', 'HS512'])
const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/

/** `my-idp` -> `MY_IDP`: the part of `OIDC_MY_IDP_CLIENT_ID` that names the provider. */
export function envSuffix (name: string): string {
  return name.toUpperCase().replace(/-/g, '_')
}

interface Entry {
  name: string
  options: Partial<OidcProviderOptions>
  /** `OIDC_` + this + suffix; empty for the single provider. */
  prefix: string
}

/** The providers to resolve: the `providers` option, else `OIDC_PROVIDERS`, else one named `default` from the top-level settings. */
function entriesOf (reader: SettingsReader, options: FastifyOidcOptions): Entry[] {
  const { problems, pick } = reader
  const list: unknown = options.providers ?? pick(undefined, 'OIDC_PROVIDERS', asList, 'a comma-separated list of provider names')
  if (list === undefined) return [{ name: 'default', options, prefix: '' }]
  if (!Array.isArray(list) || list.length === 0) {
    problems.push('providers: expected a non-empty array of provider options, each with a name')
    return []
  }
  const entries: Entry[] = []
  const suffixes = new Set<string>()
  for (const item of list as unknown[]) {
    const entry = typeof item === 'string' ? { name: item } : item as Partial<OidcProviderOptions> | null
    const name = entry?.name
    if (typeof name !== 'string' || !NAME.test(name)) {
      problems.push(`OIDC_PROVIDERS: expected provider names of lowercase letters, digits, - and _ (at most 40), got ${JSON.stringify(String(name).slice(0, 40))}`)
    } else if (suffixes.has(envSuffix(name))) {
      problems.push(`OIDC_PROVIDERS: ${JSON.stringify(name)} is listed twice (or twice once - is read as _)`)
    } else {
      suffixes.add(envSuffix(name))
      entries.push({ name, options: entry!, prefix: `${envSuffix(name)}_` })
    }
  }
  // With several providers, a provider setting at the top level would be ambiguous.
  for (const [option, suffix] of Object.entries(PROVIDER_OPTIONS)) {
    if ((options as Record<string, unknown>)[option] !== undefined) problems.push(`${option}: with several providers, set it in each entry of providers (or OIDC_<NAME>_${suffix})`)
  }
  for (const suffix of PER_PROVIDER_SUFFIXES) {
    if (reader.read(`OIDC_${suffix}`) !== undefined) problems.push(`OIDC_${suffix}: with OIDC_PROVIDERS, set OIDC_<NAME>_${suffix} for each provider`)
  }
  return entries
}

/**
 * Resolves every provider (options over `OIDC_<NAME>_*` env vars, presets
 * filling what is left), pushing problems to the reader instead of throwing.
 * The first provider is the default one.
 */
export function resolveProviders (reader: SettingsReader, options: FastifyOidcOptions, shared: SharedProviderSettings): ResolvedProvider[] {
  const entries = entriesOf(reader, options)
  // With several providers, the top-level OIDC_DPOP (or `dpop`) is every provider's default.
  const dpop = entries.length === 1 && entries[0]!.prefix === '' ? undefined : reader.pick(options.dpop, 'OIDC_DPOP', asBool, 'true or false')
  if (dpop !== undefined && typeof dpop !== 'boolean') reader.problems.push('OIDC_DPOP: expected true or false')
  return entries.map((entry, index) => resolveProvider(reader, entry, index === 0 ? '' : `/${entry.name}`, shared, dpop === true))
}

function resolveProvider (reader: SettingsReader, { name, options, prefix }: Entry, callbackPath: string, shared: SharedProviderSettings, dpop: boolean): ResolvedProvider {
  const { problems, pick, checkUrl } = reader
  const envName = (suffix: string): string => `OIDC_${prefix}${suffix}`
  const url = (option: string | undefined, suffix: string, idp = true): string | undefined =>
    checkUrl(pick(option, envName(suffix), asString, 'a URL'), envName(suffix), { idp })

  const rawPreset = pick<string>(options.preset, envName('PRESET'), asString, 'a preset name')
  let preset: PresetName | undefined
  if (rawPreset !== undefined && !(PRESETS as readonly string[]).includes(rawPreset)) {
    problems.push(`${envName('PRESET')}: expected one of ${PRESETS.join(', ')}, got ${JSON.stringify(rawPreset.slice(0, 40))}`)
  } else {
    preset = rawPreset as PresetName | undefined
  }
  const rawIssuer = pick(options.issuer, envName('ISSUER'), asString, 'a URL')
  const explicitIssuer = checkUrl(rawIssuer, envName('ISSUER'))
  const input = {
    issuer: explicitIssuer,
    serverUrl: url(options.serverUrl, 'SERVER_URL'),
    realm: pick(options.realm, envName('REALM'), asString, 'a realm name'),
    tenant: pick(options.tenant, envName('TENANT'), asString, 'a tenant id or domain')
  }
  const defaults = preset === undefined
    ? { ...NO_QUIRKS, issuer: explicitIssuer, scope: undefined, rolesClaim: undefined, endpoints: {} }
    : presetDefaults(preset, input, (settings) => problems.push(`${envName('PRESET')}=${preset}: needs ${settings.map(envName).join(' and ')} (or ${envName('ISSUER')})`))
  const issuer = defaults.issuer
  // An issuer given but unusable has its own line already.
  if (issuer === undefined && preset === undefined && rawIssuer === undefined) problems.push(`${envName('ISSUER')}: required, expected an absolute https URL`)

  const clientId = pick(options.clientId, envName('CLIENT_ID'), asString, 'a string')
  if (clientId === undefined || clientId === '') problems.push(`${envName('CLIENT_ID')}: required, the client id registered at the IdP`)
  const clientSecret = pick(options.clientSecret, envName('CLIENT_SECRET'), asString, 'a string') || undefined

  const clientAuth = resolveClientAuth(reader, options, envName, { clientSecret, presetMethods: defaults.tokenAuthMethods, preset, dpop })

  const endpoints: OidcEndpoints = { ...defaults.endpoints }
  for (const [key, suffix] of Object.entries(ENDPOINT_SUFFIXES) as Array<[keyof OidcEndpoints, string]>) {
    const value = url(options.endpoints?.[key], suffix)
    if (value !== undefined) endpoints[key] = value
  }
  const discoveryUrl = url(options.discoveryUrl, 'DISCOVERY_URL') ?? issuer
  const postLogout = url(options.postLogoutRedirectUri, 'POST_LOGOUT_REDIRECT_URI', false)

  const idTokenSigningAlgs = pick(options.idTokenSigningAlgs, envName('ID_TOKEN_ALGS'), asList, 'a comma-separated list of JWS algorithms')
  for (const alg of idTokenSigningAlgs ?? []) {
    if (!isAsymmetricAlg(alg) && !HMAC_ALGS.has(alg)) problems.push(`${envName('ID_TOKEN_ALGS')}: unsupported algorithm ${JSON.stringify(alg)} (none is never accepted)`)
    else if (HMAC_ALGS.has(alg) && clientSecret === undefined) problems.push(`${envName('ID_TOKEN_ALGS')}: ${alg} needs ${envName('CLIENT_SECRET')}`)
  }
  const scope = pick(options.scope, envName('SCOPE'), asString, 'a string') ?? defaults.scope ?? 'openid profile email'
  // GitHub is OAuth 2 only: its scopes are its own.
  if (!defaults.oauth2Only && !scope.split(/\s+/).includes('openid')) problems.push(`${envName('SCOPE')}: must include openid, got ${JSON.stringify(scope.slice(0, 60))}`)

  return {
    ...defaults,
    name,
    preset,
    issuer: issuer!,
    clientId: clientId!,
    clientSecret,
    ...clientAuth,
    redirectUri: `${shared.baseUrl}${shared.prefix}/callback${callbackPath}`,
    scope,
    endpoints: Object.freeze(endpoints),
    discoveryUrl: discoveryUrl!,
    postLogoutRedirectUri: postLogout ?? `${shared.baseUrl}/`,
    rolesClaim: pick(options.rolesClaim, envName('ROLES_CLAIM'), asString, 'a claim path') ?? defaults.rolesClaim ?? 'roles',
    idTokenSigningAlgs,
    fetchUserinfo: pick(options.fetchUserinfo, envName('FETCH_USERINFO'), asBool, 'true or false') ?? false
  }
}
