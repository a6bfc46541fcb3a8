// Local stand-ins for real identity providers: a loopback HTTP server that serves
// discovery documents in the shape Keycloak, Entra ID, Okta, Auth0 and Google
// publish (paths, field names, endpoint layout, quirks such as Entra's
// `{tenantid}` issuer or Auth0's missing end_session_endpoint). The endpoints the
// relying party calls server-side (token, JWKS) may point at a hostile OP, which
// then plays that IdP's token endpoint; the browser-facing ones stay on the
// stand-in and are only read from the login redirect, never followed:
// `answerAuthorize` plays the IdP's login page by minting a code at the OP.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import type { HostileOp } from './hostile-op.js'
import type { Teardownable } from './provider.js'

export interface StandIn {
  /** `http://127.0.0.1:<port>` (or the host given). */
  origin: string
  port: number
  /** Documents by path; change them between requests as needed. */
  documents: Map<string, unknown>
  /** Every request received. */
  requests: Array<{ path: string, headers: IncomingHttpHeaders }>
}

/** Starts a stand-in on a free loopback port, closed when the test ends. */
export async function startStandIn (t: Teardownable, host = '127.0.0.1'): Promise<StandIn> {
  const documents = new Map<string, unknown>()
  const requests: StandIn['requests'] = []
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname
    requests.push({ path, headers: req.headers })
    const document = documents.get(path)
    res.writeHead(document === undefined ? 404 : 200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(document ?? { error: 'not_found' }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  const { port } = server.address() as AddressInfo
  return { origin: `http://${host}:${port}`, port, documents, requests }
}

/**
 * A document whose server-side calls go to the hostile OP: its token endpoint,
 * keys and revocation endpoint (the IdP's own stay in the document's shape otherwise).
 */
function withOp (document: Record<string, unknown>, op: HostileOp): Record<string, unknown> {
  return { ...document, token_endpoint: op.url('/token'), jwks_uri: op.url('/jwks'), revocation_endpoint: op.url('/revoke') }
}

/** Keycloak (Quarkus, 24+) `/realms/<realm>/.well-known/openid-configuration`. */
export function keycloakDocument (serverUrl: string, realm: string, op: HostileOp): Record<string, unknown> {
  const issuer = `${serverUrl}/realms/${realm}`
  const oidc = `${issuer}/protocol/openid-connect`
  return withOp({
    issuer,
    authorization_endpoint: `${oidc}/auth`,
    token_endpoint: `${oidc}/token`,
    introspection_endpoint: `${oidc}/token/introspect`,
    userinfo_endpoint: `${oidc}/userinfo`,
    end_session_endpoint: `${oidc}/logout`,
    frontchannel_logout_session_supported: true,
    frontchannel_logout_supported: true,
    jwks_uri: `${oidc}/certs`,
    check_session_iframe: `${oidc}/login-status-iframe.html`,
    grant_types_supported: ['authorization_code', 'implicit', 'refresh_token', 'password', 'client_credentials', 'urn:openid:params:grant-type:ciba', 'urn:ietf:params:oauth:grant-type:device_code'],
    acr_values_supported: ['0', '1'],
    response_types_supported: ['code', 'none', 'id_token', 'token', 'id_token token', 'code id_token', 'code token', 'code id_token token'],
    subject_types_supported: ['public', 'pairwise'],
    id_token_signing_alg_values_supported: ['PS384', 'RS384', 'EdDSA', 'ES384', 'HS256', 'HS512', 'ES256', 'RS256', 'HS384', 'ES512', 'PS256', 'PS512', 'RS512'],
    userinfo_signing_alg_values_supported: ['PS384', 'RS384', 'EdDSA', 'ES384', 'HS256', 'HS512', 'ES256', 'RS256', 'HS384', 'ES512', 'PS256', 'PS512', 'RS512', 'none'],
    response_modes_supported: ['query', 'fragment', 'form_post', 'query.jwt', 'fragment.jwt', 'form_post.jwt', 'jwt'],
    registration_endpoint: `${issuer}/clients-registrations/openid-connect`,
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'tls_client_auth', 'client_secret_jwt'],
    claims_supported: ['aud', 'sub', 'iss', 'auth_time', 'name', 'given_name', 'family_name', 'preferred_username', 'email', 'acr'],
    claim_types_supported: ['normal'],
    claims_parameter_supported: true,
    scopes_supported: ['openid', 'offline_access', 'roles', 'profile', 'email', 'web-origins', 'acr', 'phone', 'address', 'basic', 'microprofile-jwt'],
    request_parameter_supported: true,
    request_uri_parameter_supported: true,
    require_request_uri_registration: true,
    code_challenge_methods_supported: ['plain', 'S256'],
    tls_client_certificate_bound_access_tokens: true,
    revocation_endpoint: `${oidc}/revoke`,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    device_authorization_endpoint: `${oidc}/auth/device`,
    backchannel_token_delivery_modes_supported: ['poll', 'ping'],
    backchannel_authentication_endpoint: `${oidc}/ext/ciba/auth`,
    require_pushed_authorization_requests: false,
    pushed_authorization_request_endpoint: `${oidc}/ext/par/request`,
    mtls_endpoint_aliases: { token_endpoint: `${oidc}/token`, revocation_endpoint: `${oidc}/revoke` },
    authorization_response_iss_parameter_supported: true
  }, op)
}

/**
 * Entra ID v2.0 `https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration`.
 * `issuer` is `<authority>/{tenantid}/v2.0` for common / organizations, else the tenant's id form.
 */
export function entraDocument (authority: string, tenant: string, issuer: string, op: HostileOp): Record<string, unknown> {
  return withOp({
    token_endpoint: `${authority}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${authority}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${authority}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${authority}/${tenant}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${authority}/${tenant}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${authority}/${tenant}/kerberos`,
    tenant_region_scope: null,
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net'
  }, op)
}

/** Okta custom authorization server `https://<org>.okta.com/oauth2/default/.well-known/openid-configuration`. */
export function oktaDocument (orgUrl: string, op: HostileOp): Record<string, unknown> {
  const issuer = `${orgUrl}/oauth2/default`
  return withOp({
    issuer,
    authorization_endpoint: `${issuer}/v1/authorize`,
    token_endpoint: `${issuer}/v1/token`,
    userinfo_endpoint: `${issuer}/v1/userinfo`,
    registration_endpoint: `${orgUrl}/oauth2/v1/clients`,
    jwks_uri: `${issuer}/v1/keys`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'code token', 'id_token token', 'code id_token token'],
    response_modes_supported: ['query', 'fragment', 'form_post', 'okta_post_message'],
    grant_types_supported: ['authorization_code', 'implicit', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:device_code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'profile', 'email', 'address', 'phone', 'offline_access', 'device_sso'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
    claims_supported: ['iss', 'ver', 'sub', 'aud', 'iat', 'exp', 'jti', 'auth_time', 'amr', 'idp', 'nonce', 'name', 'nickname', 'preferred_username', 'given_name', 'family_name', 'email', 'email_verified', 'groups'],
    code_challenge_methods_supported: ['S256'],
    introspection_endpoint: `${issuer}/v1/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
    revocation_endpoint: `${issuer}/v1/revoke`,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
    end_session_endpoint: `${issuer}/v1/logout`,
    request_parameter_supported: true,
    request_object_signing_alg_values_supported: ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'],
    device_authorization_endpoint: `${issuer}/v1/device/authorize`,
    pushed_authorization_request_endpoint: `${issuer}/v1/par`,
    backchannel_token_delivery_modes_supported: ['poll'],
    dpop_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512']
  }, op)
}

/** Auth0 `https://<tenant>.auth0.com/.well-known/openid-configuration`: issuer with a trailing slash; `end_session_endpoint` only when RP-initiated logout is enabled. */
export function auth0Document (tenantUrl: string, op: HostileOp, { endSession = false } = {}): Record<string, unknown> {
  return withOp({
    issuer: `${tenantUrl}/`,
    authorization_endpoint: `${tenantUrl}/authorize`,
    token_endpoint: `${tenantUrl}/oauth/token`,
    device_authorization_endpoint: `${tenantUrl}/oauth/device/code`,
    userinfo_endpoint: `${tenantUrl}/userinfo`,
    mfa_challenge_endpoint: `${tenantUrl}/mfa/challenge`,
    jwks_uri: `${tenantUrl}/.well-known/jwks.json`,
    registration_endpoint: `${tenantUrl}/oidc/register`,
    revocation_endpoint: `${tenantUrl}/oauth/revoke`,
    scopes_supported: ['openid', 'profile', 'offline_access', 'name', 'given_name', 'family_name', 'nickname', 'email', 'email_verified', 'picture', 'created_at', 'identities', 'phone', 'address'],
    response_types_supported: ['code', 'token', 'id_token', 'code token', 'code id_token', 'token id_token', 'code token id_token'],
    code_challenge_methods_supported: ['S256', 'plain'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['public'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    claims_supported: ['aud', 'auth_time', 'created_at', 'email', 'email_verified', 'exp', 'family_name', 'given_name', 'iat', 'identities', 'iss', 'name', 'nickname', 'phone_number', 'picture', 'sub'],
    request_uri_parameter_supported: false,
    request_parameter_supported: false,
    id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'PS256'],
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    ...(endSession ? { end_session_endpoint: `${tenantUrl}/oidc/logout` } : {})
  }, op)
}

/** Google `https://accounts.google.com/.well-known/openid-configuration`: no end_session_endpoint. */
export function googleDocument (op: HostileOp): Record<string, unknown> {
  return withOp({
    issuer: 'https://accounts.google.com',
    authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
    device_authorization_endpoint: 'https://oauth2.googleapis.com/device/code',
    token_endpoint: 'https://oauth2.googleapis.com/token',
    userinfo_endpoint: 'https://openidconnect.googleapis.com/v1/userinfo',
    revocation_endpoint: 'https://oauth2.googleapis.com/revoke',
    jwks_uri: 'https://www.googleapis.com/oauth2/v3/certs',
    response_types_supported: ['code', 'token', 'id_token', 'code token', 'code id_token', 'token id_token', 'code token id_token', 'none'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    claims_supported: ['aud', 'email', 'email_verified', 'exp', 'family_name', 'given_name', 'iat', 'iss', 'name', 'picture', 'sub'],
    code_challenge_methods_supported: ['plain', 'S256'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer']
  }, op)
}

/**
 * Plays the IdP's login page for an authorization request the browser was sent
 * to (`location`): remembers it at the OP as its /authorize would (code, PKCE
 * challenge, nonce, redirect URI) and returns the callback URL with the code and
 * the state, plus `extra` parameters (e.g. `iss`).
 */
export function answerAuthorize (op: HostileOp, location: string, extra: Record<string, string> = {}): URL {
  const params = new URL(location).searchParams
  const redirectUri = params.get('redirect_uri')!
  const code = op.mintCode({
    state: params.get('state') ?? undefined,
    nonce: params.get('nonce') ?? undefined,
    redirect_uri: redirectUri,
    code_challenge: params.get('code_challenge') ?? undefined,
    code_challenge_method: params.get('code_challenge_method') ?? undefined,
    client_id: params.get('client_id') ?? undefined,
    scope: params.get('scope') ?? undefined
  })
  const callback = new URL(redirectUri)
  callback.searchParams.set('code', code)
  callback.searchParams.set('state', params.get('state')!)
  for (const [name, value] of Object.entries(extra)) callback.searchParams.set(name, value)
  return callback
}
