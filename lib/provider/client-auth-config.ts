import { asBool, asString, type SettingsReader } from '../settings.js'
import type { OidcProviderOptions } from '../options.js'
import { readClientKey, type ClientKey } from './client-key.js'
import type { OidcTokenAuthMethod } from './types.js'

export const TOKEN_AUTH_METHODS: readonly OidcTokenAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']

/** `OIDC_PAR`: `auto` (only when the IdP's metadata requires it), `true` (always), `false` (never). */
export type ParSetting = 'auto' | boolean

/** How one provider's client authenticates and sends its authorization requests. */
export interface ClientAuthSettings {
  /** `OIDC_TOKEN_AUTH_METHOD`; undefined: chosen from the secret and the IdP's metadata (see `tokenAuthMethod`). */
  tokenAuthMethod: OidcTokenAuthMethod | undefined
  /** The `private_key_jwt` key (`OIDC_CLIENT_PRIVATE_KEY` / `_FILE`, `OIDC_CLIENT_KEY_ID`). */
  clientKey: ClientKey | undefined
  par: ParSetting
  /** `OIDC_DPOP`: tokens bound to a key of each session (RFC 9449); the IdP must list DPoP in its metadata. */
  dpop: boolean
}

const asMethod = (raw: string): OidcTokenAuthMethod | undefined => (TOKEN_AUTH_METHODS as readonly string[]).includes(raw) ? raw as OidcTokenAuthMethod : undefined
const asPar = (raw: string): ParSetting | undefined => raw === 'auto' ? 'auto' : asBool(raw)

/**
 * Resolves a provider's client authentication: the method (explicit, or
 * `private_key_jwt` when only a key is given), its key, and PAR. Pushes a
 * problem for a method without what it needs (a secret, a key), for a secret
 * or a key the method would not use, and for a method the preset's IdP does
 * not offer. DPoP: the provider's own setting, else `context.dpop` (the top-level
 * `OIDC_DPOP` of several providers), else off.
 */
export function resolveClientAuth (
  reader: SettingsReader,
  options: Partial<OidcProviderOptions>,
  envName: (suffix: string) => string,
  context: { clientSecret: string | undefined, presetMethods: readonly OidcTokenAuthMethod[] | undefined, preset: string | undefined, dpop?: boolean | undefined }
): ClientAuthSettings {
  const { problems, pick } = reader
  const methodName = envName('TOKEN_AUTH_METHOD')
  let explicit = pick(options.tokenAuthMethod, methodName, asMethod, TOKEN_AUTH_METHODS.join(', '))
  if (explicit !== undefined && !TOKEN_AUTH_METHODS.includes(explicit)) {
    problems.push(`${methodName}: expected ${TOKEN_AUTH_METHODS.join(', ')}`)
    explicit = undefined
  }
  const rawKey = options.clientPrivateKey ?? reader.read(envName('CLIENT_PRIVATE_KEY'))
  const keyFile = pick(options.clientPrivateKeyFile, envName('CLIENT_PRIVATE_KEY_FILE'), asString, 'a file path')
  const clientKey = readClientKey({
    key: { value: rawKey, name: envName('CLIENT_PRIVATE_KEY') },
    file: { value: keyFile, name: envName('CLIENT_PRIVATE_KEY_FILE') },
    kid: { value: pick(options.clientKeyId, envName('CLIENT_KEY_ID'), asString, 'a key id'), name: envName('CLIENT_KEY_ID') }
  }, problems)
  const keyGiven = rawKey !== undefined || keyFile !== undefined
  // A key alone says which method it is for.
  const method = explicit ?? (keyGiven ? 'private_key_jwt' : undefined)
  const secret = envName('CLIENT_SECRET')
  if ((method === 'client_secret_basic' || method === 'client_secret_post') && context.clientSecret === undefined) {
    problems.push(`${methodName}=${method}: needs ${secret}`)
  } else if (method === 'private_key_jwt' && !keyGiven) {
    problems.push(`${methodName}=private_key_jwt: needs ${envName('CLIENT_PRIVATE_KEY')} (a PEM or a JWK) or ${envName('CLIENT_PRIVATE_KEY_FILE')}`)
  } else if ((method === 'none' || method === 'private_key_jwt') && context.clientSecret !== undefined) {
    problems.push(`${secret}: not used with ${methodName}=${method}: remove it`)
  }
  if (keyGiven && method !== 'private_key_jwt') problems.push(`${envName('CLIENT_PRIVATE_KEY')}: only used with ${methodName}=private_key_jwt`)
  if (method !== undefined && context.presetMethods !== undefined && !context.presetMethods.includes(method)) {
    problems.push(`${methodName}=${method}: the ${String(context.preset)} preset's IdP accepts ${context.presetMethods.join(', ')}`)
  }
  const par = pick(options.par, envName('PAR'), asPar, 'auto, true or false') ?? 'auto'
  if (par !== 'auto' && typeof par !== 'boolean') problems.push(`${envName('PAR')}: expected auto, true or false`)
  const dpop = pick(options.dpop, envName('DPOP'), asBool, 'true or false') ?? context.dpop ?? false
  if (typeof dpop !== 'boolean') problems.push(`${envName('DPOP')}: expected true or false`)
  return { tokenAuthMethod: method, clientKey, par, dpop }
}
