import type { OidcEndpoints, OidcPreset, OidcTokenAuthMethod } from './types.js'

/** The identity providers the plugin knows the quirks of. */
export const PRESETS: readonly OidcPreset[] = ['keycloak', 'okta', 'auth0', 'entra', 'google', 'github']
export type PresetName = OidcPreset

/** What a preset is told: the provider's settings that name its server. */
export interface PresetInput {
  /** Explicit issuer: wins over the one a preset derives. */
  issuer: string | undefined
  /** `OIDC_SERVER_URL`: Keycloak's base URL, Entra's authority host, Okta/Auth0/GitHub Enterprise origin. */
  serverUrl: string | undefined
  /** `OIDC_REALM` (Keycloak). */
  realm: string | undefined
  /** `OIDC_TENANT` (Entra ID): a tenant id, a domain, `common`, `organizations` or `consumers`. */
  tenant: string | undefined
}

/** A provider's quirks: what a preset sets that the generic configuration would not. */
export interface ProviderQuirks {
  /** OAuth 2 only (GitHub): no discovery, no ID token, the user comes from the `userinfo` endpoint (a REST API). */
  oauth2Only: boolean
  /** Auth0: without an `end_session_endpoint`, logout goes through `/v2/logout?client_id=&returnTo=` on this origin. */
  auth0LogoutOrigin: string | undefined
  /** Entra ID: the authority (`https://login.microsoftonline.com`) whose `{tenantid}` issuers are accepted. */
  entraAuthority: string | undefined
  /** Other spellings of the issuer an ID token may carry (Google: `accounts.google.com`). */
  issuerAliases: string[]
  /** Authorization request parameters sent by default (Google: `access_type=offline` for a refresh token). */
  authorizeParams: Record<string, string>
  /** The JWT `typ` of the provider's access tokens when it is not RFC 9068's `at+jwt` (Keycloak, Entra: `JWT`). */
  accessTokenTyp: string | undefined
  /** The client authentication methods the IdP offers (another is a configuration error); undefined: not known. */
  tokenAuthMethods: readonly OidcTokenAuthMethod[] | undefined
  /**
   * The `aud` of `private_key_jwt` assertions: the issuer identifier (RFC 7523, as Keycloak and
   * the OpenID Provider in tests accept), or the token endpoint URL (what Entra ID and Okta ask for).
   */
  assertionAudience: 'issuer' | 'token_endpoint'
  /** Entra ID: the assertion header carries the certificate thumbprint as `x5t` (the `kid` given in `OIDC_CLIENT_KEY_ID`). */
  assertionX5t: boolean
}

/** What a preset fills in; explicit settings win. */
export interface PresetDefaults extends ProviderQuirks {
  issuer: string | undefined
  scope: string | undefined
  rolesClaim: string | undefined
  endpoints: OidcEndpoints
}

export const NO_QUIRKS: ProviderQuirks = Object.freeze({
  oauth2Only: false,
  auth0LogoutOrigin: undefined,
  entraAuthority: undefined,
  issuerAliases: [],
  authorizeParams: {},
  accessTokenTyp: undefined,
  tokenAuthMethods: undefined,
  assertionAudience: 'issuer',
  assertionX5t: false
})

const ALL_METHODS: readonly OidcTokenAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']

const GOOGLE_ISSUER = 'https://accounts.google.com'
const ENTRA_AUTHORITY = 'https://login.microsoftonline.com'
const GITHUB = 'https://github.com'
const trim = (url: string): string => url.replace(/\/+$/, '')

/**
 * The defaults of a preset. Without an explicit issuer, `need` is told the
 * settings (env suffixes) it lacks to derive one.
 */
export function presetDefaults (preset: PresetName, input: PresetInput, need: (settings: string[]) => void): PresetDefaults {
  const base: PresetDefaults = { ...NO_QUIRKS, issuer: input.issuer, scope: undefined, rolesClaim: undefined, endpoints: {} }
  const server = input.serverUrl === undefined ? undefined : trim(input.serverUrl)
  switch (preset) {
    case 'keycloak':
      // Keycloak 17+ (Quarkus) serves realms at /realms/<realm>; older ones under /auth: put it in the server URL.
      if (base.issuer === undefined && (server === undefined || input.realm === undefined)) need(['SERVER_URL', 'REALM'])
      else base.issuer ??= `${server}/realms/${encodeURIComponent(input.realm!)}`
      // Client authenticator "Client Id and Secret", "Signed JWT" (private_key_jwt) or a public client; PAR supported.
      return { ...base, rolesClaim: 'keycloak', accessTokenTyp: 'JWT', tokenAuthMethods: ALL_METHODS }
    case 'okta':
      // The "default" custom authorization server: its tokens carry groups once a groups claim is configured.
      if (base.issuer === undefined && server === undefined) need(['SERVER_URL'])
      else base.issuer ??= `${server}/oauth2/default`
      // "Public key / Private key" client authentication wants the token endpoint as the assertion's aud; PAR supported.
      return { ...base, rolesClaim: 'okta', scope: 'openid profile email offline_access', tokenAuthMethods: ALL_METHODS, assertionAudience: 'token_endpoint' }
    case 'auth0':
      // Auth0 issuers end with a slash: https://tenant.eu.auth0.com/
      if (base.issuer === undefined && server === undefined) need(['SERVER_URL'])
      else base.issuer ??= `${server}/`
      return {
        ...base,
        scope: 'openid profile email offline_access',
        auth0LogoutOrigin: base.issuer === undefined ? undefined : new URL(base.issuer).origin,
        // private_key_jwt and PAR: Enterprise plans.
        tokenAuthMethods: ALL_METHODS
      }
    case 'entra': {
      const authority = server ?? ENTRA_AUTHORITY
      if (base.issuer === undefined && input.tenant === undefined) need(['TENANT'])
      else base.issuer ??= `${authority}/${encodeURIComponent(input.tenant!)}/v2.0`
      // Certificate credentials: aud is the token endpoint and the header names the certificate by x5t; no PAR.
      return {
        ...base,
        rolesClaim: 'entra',
        scope: 'openid profile email offline_access',
        entraAuthority: authority,
        accessTokenTyp: 'JWT',
        tokenAuthMethods: ALL_METHODS,
        assertionAudience: 'token_endpoint',
        assertionX5t: true
      }
    }
    case 'google':
      base.issuer ??= GOOGLE_ISSUER
      return {
        ...base,
        issuerAliases: base.issuer === GOOGLE_ISSUER ? ['accounts.google.com'] : [],
        authorizeParams: { access_type: 'offline' },
        // Client secrets only; no PAR.
        tokenAuthMethods: ['client_secret_basic', 'client_secret_post']
      }
    case 'github': {
      const web = server ?? GITHUB
      base.issuer ??= web
      return {
        ...base,
        oauth2Only: true,
        scope: 'read:user user:email',
        // The secret in the body; no PAR.
        tokenAuthMethods: ['client_secret_post'],
        endpoints: {
          authorization: `${web}/login/oauth/authorize`,
          token: `${web}/login/oauth/access_token`,
          // github.com's REST API has its own host; GitHub Enterprise Server serves it under /api/v3.
          userinfo: web === GITHUB ? 'https://api.github.com/user' : `${web}/api/v3/user`
        }
      }
    }
  }
}
