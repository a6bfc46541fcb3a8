// ID tokens sent as access tokens when the API accepts typ JWT (Keycloak,
// Entra ID): an ID token carrying no nonce nor hash claim, for an audience the
// API accepts, is still refused — by Keycloak's payload typ "ID", or for lack
// of any access-token claim (scope, scp, client_id, azp, appid). Real access
// tokens of those IdPs pass.
import t, { type Test } from 'tap'
import type { JWTPayload } from 'jose'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, type ResourceServerApp } from '../helpers/resource-server.js'

async function call (api: ResourceServerApp, token: string): Promise<{ status: number, code: unknown, challenge: string | null }> {
  const res = await fetch(`${api.url}/api`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, code: (await res.json() as Record<string, unknown>)['code'], challenge: res.headers.get('www-authenticate') }
}

const now = (): number => Math.floor(Date.now() / 1000)
/** None of the RFC 9068 extras the test helper adds. */
const bare: JWTPayload = { client_id: undefined, scope: undefined, jti: undefined }

/** A Keycloak ID token (no nonce: none was requested), its aud the API's audience. */
const keycloakIdToken = (typ: string): JWTPayload => ({
  ...bare, typ, azp: 'frontend', auth_time: now(), session_state: 'a1b2', sid: 'a1b2', acr: '1', email_verified: true, preferred_username: 'alice'
})
/** An Entra ID v2 ID token for an app that is also its own API (aud the same), without nonce. */
const entraIdToken: JWTPayload = {
  ...bare, nbf: now(), oid: '00000000-0000-0000-0000-000000000001', tid: '00000000-0000-0000-0000-0000000000aa', ver: '2.0', name: 'Alice', preferred_username: 'alice@example.test'
}

const refused: Array<[string, JWTPayload]> = [
  ['a Keycloak ID token (payload typ ID)', keycloakIdToken('ID')],
  ['a Keycloak ID token (payload typ id, any case)', keycloakIdToken('id')],
  ['an Entra ID token (no scp, azp nor client_id)', entraIdToken]
]

const accepted: Array<[string, JWTPayload]> = [
  ['a Keycloak access token (payload typ Bearer, azp, scope)', { ...bare, typ: 'Bearer', azp: 'frontend', scope: 'openid api:read', realm_access: { roles: ['user'] } }],
  ['an Entra ID v2 delegated access token (scp, azp)', { ...entraIdToken, scp: 'api.read', azp: 'spa-client-id' }],
  ['an Entra ID v2 app-only access token (roles, azp)', { ...entraIdToken, roles: ['Api.Read'], azp: 'daemon-client-id' }],
  ['an Entra ID v1 app-only access token (roles, appid)', { ...entraIdToken, ver: '1.0', roles: ['Api.Read'], appid: 'daemon-client-id' }],
  ['a client-credentials token with client_id only', { ...bare, client_id: 'batch-job' }]
]

async function apis (t: Test, op: HostileOp): Promise<Array<[string, ResourceServerApp]>> {
  return [
    ['any', await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, accessTokenTypes: ['any'] })],
    ['JWT', await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, env: { OIDC_ACCESS_TOKEN_TYPES: 'JWT' } })]
  ]
}

t.test('typ JWT accepted: ID tokens without nonce or hashes are refused with invalid_token', async (t) => {
  const op = await startHostileOp(t)
  for (const [mode, api] of await apis(t, op)) {
    for (const [name, claims] of refused) {
      const res = await call(api, await signAccessToken(op, claims, { typ: 'JWT' }))
      t.equal(res.status, 401, `${mode}: ${name}`)
      t.equal(res.code, 'FST_OIDC_TOKEN_INVALID', `${mode}: ${name}`)
      t.match(res.challenge, /error="invalid_token", error_description="[^"]*(ID token|access-token claim)/, `${mode}: ${name}`)
    }
  }
})

t.test('typ JWT accepted: those IdPs\' access tokens pass', async (t) => {
  const op = await startHostileOp(t)
  for (const [mode, api] of await apis(t, op)) {
    for (const [name, claims] of accepted) {
      t.equal((await call(api, await signAccessToken(op, claims, { typ: 'JWT' }))).status, 200, `${mode}: ${name}`)
    }
  }
})

t.test('no typ header at all, in any mode: the same rules', async (t) => {
  const op = await startHostileOp(t)
  const any = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, accessTokenTypes: ['any'] })
  t.equal((await call(any, await signAccessToken(op, entraIdToken, { typ: undefined }))).status, 401)
  t.equal((await call(any, await signAccessToken(op, keycloakIdToken('ID'), { typ: undefined }))).status, 401)
  t.equal((await call(any, await signAccessToken(op, { ...bare, azp: 'frontend' }, { typ: undefined }))).status, 200)
})

t.test('at+jwt: a payload typ ID is refused there too', async (t) => {
  const op = await startHostileOp(t)
  const strict = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE })
  t.equal((await call(strict, await signAccessToken(op))).status, 200)
  const res = await call(strict, await signAccessToken(op, { typ: 'ID' }))
  t.equal(res.status, 401)
  t.match(res.challenge, /an ID token is not an access token/)
})
