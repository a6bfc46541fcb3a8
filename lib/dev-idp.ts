// A real, in-process OpenID Provider (oidc-provider 9) for the tests, the
// example app and `npx fastify-oidc dev-idp`. It listens on 127.0.0.1 only and
// keeps everything in memory. `oidc-provider` is a dev dependency: it is
// imported when the IdP starts, never by the plugin.
//
// Notes on the choices made here (checked against oidc-provider 9.13 sources):
// - Login and consent are oidc-provider's `devInteractions`: any login name is
//   accepted and becomes the account's `sub`; the password is ignored.
// - `conformIdTokenClaims: false` puts the scope claims (`name`, `email`,
//   `email_verified`, `roles`) in the ID token itself, not only at userinfo.
// - The `roles` claim belongs to the `profile` scope (so the usual
//   `openid profile email` gets it) and also to its own `roles` scope, for
//   an app that wants roles without the rest of the profile.
// - Refresh tokens are issued on every code exchange (no `offline_access`
//   needed). They expire with the provider session: RP-initiated logout
//   revokes the grant, after which the refresh token is `invalid_grant`.
// - PKCE is required for every client; oidc-provider 9 only knows S256.
// - The RFC 9207 `iss` authorization response parameter is always sent by
//   oidc-provider 9 (discovery says `authorization_response_iss_parameter_supported`).
// - oidc-provider's fetch refuses loopback addresses (SSRF protection), which
//   would silently drop back-channel logout calls to 127.0.0.1: the `fetch`
//   option below removes that dispatcher. Only for this dev provider.
// - oidc-provider prints notices for each default helper it calls; every
//   such helper that a normal flow reaches is replaced here, and the three
//   start-up warnings (unsupported runtime, in-memory adapter,
//   devInteractions) are filtered unless `quiet: false`.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { escapeHtml } from './escape.js'
import { defaultClaims, page, quietly, ROLES_CLAIM, signingKeys } from './dev-idp-support.js'
import type { DevIdp, DevIdpOptions, LogEntry } from './dev-idp-types.js'
import { acrConfiguration, authenticationClaims, issueRequestedAcr } from './dev-idp-acr.js'
import { TOKEN_EXCHANGE_GRANT, registerTokenExchange, type DevIdpTokenExchange } from './dev-idp-token-exchange.js'
import { publicJwk } from './tokens/public-jwk.js'
import type {
  Account,
  ClientMetadata,
  Configuration,
  KoaContextWithOIDC,
  ResourceServer
} from 'oidc-provider'

export type { DevIdpClient, DevIdpOptions, DevIdp, LogEntry, Provider } from './dev-idp-types.js'
export type { DevIdpTokenExchange }
export { quietly } from './dev-idp-support.js'

export async function startDevIdp (options: DevIdpOptions): Promise<DevIdp> {
  const quiet = options.quiet ?? true
  const accessTokenTtl = options.accessTokenTtl ?? 3600
  const idTokenTtl = options.idTokenTtl ?? 3600
  const refreshTokenTtl = options.refreshTokenTtl ?? 14 * 24 * 3600
  const jwtAt = options.jwtAccessTokens

  const { default: Provider, errors, interactionPolicy } = await quietly(quiet, () => import('oidc-provider'))
  const acrValues = options.acrValues

  // Listen first: the issuer must contain the port, which is only known now.
  // Nobody knows the port before this function returns, so no request can
  // arrive before the provider is attached below.
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const issuer = `http://${options.host ?? '127.0.0.1'}:${port}`

  const clients: ClientMetadata[] = options.clients.map((c) => {
    const metadata: ClientMetadata = {
      client_id: c.client_id,
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris,
      grant_types: ['authorization_code', 'refresh_token', ...(options.tokenExchange === undefined ? [] : [TOKEN_EXCHANGE_GRANT])],
      response_types: ['code'],
      token_endpoint_auth_method: c.token_endpoint_auth_method ??
        (c.client_secret === undefined ? 'none' : 'client_secret_basic')
    }
    if (c.client_secret !== undefined) metadata.client_secret = c.client_secret
    if (c.backchannel_logout_uri !== undefined) metadata.backchannel_logout_uri = c.backchannel_logout_uri
    if (c.backchannel_logout_session_required !== undefined) metadata.backchannel_logout_session_required = c.backchannel_logout_session_required
    if (c.id_token_signed_response_alg !== undefined) metadata.id_token_signed_response_alg = c.id_token_signed_response_alg
    // With levels, every ID token says which one and when (as Keycloak, Entra ID, Okta do), asked for or not.
    if (acrValues !== undefined) Object.assign(metadata, { default_acr_values: acrValues, require_auth_time: true })
    if (c.jwks !== undefined) metadata.jwks = c.jwks as ClientMetadata['jwks']
    if (c.jwks_uri !== undefined) metadata.jwks_uri = c.jwks_uri
    if (c.require_pushed_authorization_requests !== undefined) metadata.require_pushed_authorization_requests = c.require_pushed_authorization_requests
    return metadata
  })

  const findAccount = async (_ctx: KoaContextWithOIDC, sub: string): Promise<Account> => ({
    accountId: sub,
    claims: async () => ({ ...defaultClaims(sub), ...options.accounts?.[sub], sub })
  })

  const resourceServer = (indicator: string): ResourceServer => ({
    audience: indicator,
    scope: jwtAt?.scope ?? 'api:read api:write',
    accessTokenFormat: jwtAt?.format ?? 'jwt',
    accessTokenTTL: accessTokenTtl,
    jwt: { sign: { alg: 'RS256' } }
  })

  const privateKeys = await signingKeys()
  const configuration: Configuration = {
    clients,
    jwks: { keys: privateKeys },
    ...(options.extraAccessTokenClaims === undefined && acrValues === undefined
      ? {}
      : { extraTokenClaims: async (ctx) => ({ ...options.extraAccessTokenClaims, ...(acrValues === undefined ? {} : authenticationClaims(ctx)) }) }),
    ...(acrValues === undefined ? {} : acrConfiguration(acrValues, interactionPolicy)),
    findAccount,
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      // Only the claims an account has are issued (the default accounts have name and roles).
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', ROLES_CLAIM],
      email: ['email', 'email_verified'],
      [ROLES_CLAIM]: [ROLES_CLAIM]
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', ROLES_CLAIM],
    // Authorization code flow only (no implicit or hybrid).
    responseTypes: ['code'],
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: options.rotateRefreshToken ?? false,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
      AuthorizationCode: () => 60,
      IdToken: () => idTokenTtl,
      RefreshToken: () => refreshTokenTtl,
      Interaction: () => 3600,
      Session: () => 14 * 24 * 3600,
      Grant: () => 14 * 24 * 3600
    },
    cookies: {
      // Prefixed so they cannot collide with an app's cookies: cookies do
      // not separate ports, and the app runs on 127.0.0.1 too.
      names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_resume' },
      keys: [randomBytes(32).toString('base64url')]
    },
    features: {
      devInteractions: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) =>
          client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client?.clientId
      },
      rpInitiatedLogout: {
        enabled: true,
        // Same shape as oidc-provider's default page: the form holds the
        // xsrf input, the buttons point at it with form="op.logoutForm".
        logoutSource: async (ctx, form) => {
          ctx.body = page('Sign out?', `${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`)
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', '<p>Your sign-out was successful.</p>')
        }
      },
      backchannelLogout: { enabled: true },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: options.requirePushedAuthorizationRequests ?? false },
      dPoP: options.dpop === 'nonce'
        ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true }
        : { enabled: options.dpop !== false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => {
          if (jwtAt && (oneOf === undefined || oneOf.includes(jwtAt.audience))) return jwtAt.audience
          return oneOf
        },
        getResourceServerInfo: async (_ctx, indicator) => {
          if (jwtAt && indicator === jwtAt.audience) return resourceServer(indicator)
          throw new errors.InvalidTarget()
        },
        useGrantedResource: async () => jwtAt !== undefined
      }
    },
    clientBasedCORS: () => true,
    renderError: async (ctx, out) => {
      ctx.type = 'html'
      ctx.body = page('Error', Object.entries(out)
        .map(([key, value]) => `<pre><strong>${escapeHtml(key)}</strong>: ${escapeHtml(String(value))}</pre>`)
        .join('\n'))
    },
    // Drop oidc-provider's SSRF-protecting dispatcher: back-channel logout
    // targets are on 127.0.0.1 here.
    fetch: async (url, init) => await fetch(url, { ...init, dispatcher: undefined } as RequestInit)
  }

  const provider = await quietly(quiet, () => new Provider(issuer, configuration))
  if (acrValues !== undefined) issueRequestedAcr(provider, acrValues)

  const log: LogEntry[] = []
  provider.use(async (ctx, next) => {
    const entry: LogEntry = { method: ctx.method, path: ctx.path, ...(ctx.get('dpop') === '' ? {} : { dpop: true }) }
    log.push(entry)
    try {
      await next()
    } finally {
      if (ctx.oidc?.route === 'token') {
        const grantType = ctx.oidc.params?.grant_type
        if (typeof grantType === 'string') entry.grantType = grantType
      }
      if (ctx.oidc?.route !== undefined) entry.route = ctx.oidc.route
      const body = (ctx.oidc as { body?: Record<string, unknown> } | undefined)?.body
      if (body?.['client_assertion'] !== undefined) entry.clientAssertion = true
      if (ctx.oidc?.route === 'authorization' && ctx.query['request_uri'] !== undefined) entry.requestUri = true
      entry.status = ctx.status
    }
  })

  if (options.tokenExchange !== undefined) {
    const publicKeys = privateKeys.map((key) => publicJwk(key as import('jose').JWK))
    registerTokenExchange(provider, errors, options.tokenExchange, publicKeys)
  }
  server.on('request', provider.callback())

  return {
    issuer,
    provider,
    log,
    countGrants: (type) => log.filter((e) => e.grantType === type).length,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => err ? reject(err) : resolve())
        server.closeAllConnections()
      })
    }
  }
}
