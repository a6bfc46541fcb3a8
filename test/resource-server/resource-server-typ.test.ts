// OIDC_ACCESS_TOKEN_TYPES: RFC 9068's at+jwt by default; `any` for IdPs whose
// access tokens say typ JWT (Keycloak, Entra ID) or nothing. An ID token is
// still refused, whatever typ is accepted.
import t from 'tap'
import { startHostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, buildResourceServer, signAccessToken, type ResourceServerApp } from '../helpers/resource-server.js'

async function status (api: ResourceServerApp, token: string): Promise<{ status: number, challenge: string | null }> {
  const res = await fetch(`${api.url}/api`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, challenge: res.headers.get('www-authenticate') }
}

/** A Keycloak access token's shape: typ JWT, azp instead of client_id. */
const keycloakClaims = { client_id: undefined, azp: 'frontend', typ: 'Bearer', realm_access: { roles: ['user'] } }

t.test('any: typ JWT or no typ, without RFC 9068-only claims', async (t) => {
  const op = await startHostileOp(t)
  const strict = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE })
  const any = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, env: { OIDC_ACCESS_TOKEN_TYPES: 'any' } })
  const keycloak = await signAccessToken(op, keycloakClaims, { typ: 'JWT' })
  t.equal((await status(strict, keycloak)).status, 401, 'refused by default')
  t.equal((await status(any, keycloak)).status, 200, 'accepted with any')
  t.equal((await status(any, await signAccessToken(op, { jti: undefined }, { typ: undefined }))).status, 200, 'no typ at all')
  t.equal((await status(any, await signAccessToken(op, { iat: undefined }, { typ: 'JWT' }))).status, 401, 'iat is still required')
})

t.test('any: ID tokens are still refused', async (t) => {
  const op = await startHostileOp(t)
  const any = await buildResourceServer(t, { issuer: op.issuer, audience: [API_AUDIENCE, op.clientId], accessTokenTypes: ['any'] })
  for (const marker of ['nonce', 'at_hash', 'c_hash', 's_hash']) {
    const res = await status(any, await signAccessToken(op, { aud: op.clientId, [marker]: 'x' }, { typ: 'JWT' }))
    t.equal(res.status, 401, marker)
    t.match(res.challenge, /an ID token is not an access token/, marker)
  }
})

t.test('a custom list: only those types', async (t) => {
  const op = await startHostileOp(t)
  const api = await buildResourceServer(t, { issuer: op.issuer, audience: API_AUDIENCE, accessTokenTypes: ['JWT'] })
  t.equal((await status(api, await signAccessToken(op, keycloakClaims, { typ: 'jwt' }))).status, 200)
  t.equal((await status(api, await signAccessToken(op))).status, 401, 'at+jwt is not in the list')
})
