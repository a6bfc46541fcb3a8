// OIDC_PRESET=keycloak against a stand-in serving Keycloak's realm discovery
// document: the issuer is built from OIDC_SERVER_URL + OIDC_REALM, the login and
// logout go to the realm's protocol/openid-connect endpoints, roles come from
// realm_access and resource_access.<client>, and the relying party accepts the
// realm's access tokens typed `JWT` as bearer tokens.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { answerAuthorize, keycloakDocument, startStandIn, type StandIn } from '../helpers/stand-in.js'

const apiRoute = (app: FastifyInstance): void => {
  app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => ({ sub: request.oidc.user?.sub }))
}

async function keycloak (t: Test, env: Record<string, string> = {}): Promise<{ op: HostileOp, standIn: StandIn, issuer: string, app: Awaited<ReturnType<typeof buildApp>> }> {
  const op = await startHostileOp(t)
  const standIn = await startStandIn(t)
  standIn.documents.set('/realms/shop/.well-known/openid-configuration', keycloakDocument(standIn.origin, 'shop', op))
  const issuer = `${standIn.origin}/realms/shop`
  op.onToken = async (ctx) => ctx.error !== undefined
    ? undefined
    : {
        body: {
          ...await ctx.defaultBody(),
          id_token: await ctx.sign({
            ...ctx.defaultClaims(),
            iss: issuer,
            azp: op.clientId,
            realm_access: { roles: ['offline_access', 'admin'] },
            resource_access: { [op.clientId]: { roles: ['editor'] }, account: { roles: ['manage-account'] } }
          })
        }
      }
  const app = await buildApp(t, {
    port: await freePort(),
    routes: apiRoute,
    env: { OIDC_PRESET: 'keycloak', OIDC_SERVER_URL: standIn.origin, OIDC_REALM: 'shop', OIDC_CLIENT_ID: op.clientId, OIDC_CLIENT_SECRET: op.clientSecret!, OIDC_AUDIENCE: 'shop-api', ...env }
  })
  return { op, standIn, issuer, app }
}

t.test('the realm issuer, endpoints, roles and logout of a Keycloak realm', async (t) => {
  const { op, standIn, issuer, app } = await keycloak(t)
  t.same(standIn.requests.map((r) => r.path), ['/realms/shop/.well-known/openid-configuration'], 'discovered at the realm')

  const browser = new Browser()
  const login = await browser.get(`${app.baseUrl}/auth/login`)
  const location = login.headers.get('location')!
  t.match(location, `${issuer}/protocol/openid-connect/auth?`, 'the realm\'s authorization endpoint')
  t.equal(new URL(location).searchParams.get('scope'), 'openid profile email')
  const callback = await browser.get(answerAuthorize(op, location, { iss: issuer }))
  t.equal(callback.status, 302)
  t.same(app.events.map((e) => [e.type, e.reason]), [['login', undefined]])
  const me = await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })
  t.same(JSON.parse(me.body), { sub: 'alice', roles: ['offline_access', 'admin', 'editor'] }, 'realm roles and this client\'s roles')

  const logout = await browser.request('POST', `${app.baseUrl}/auth/logout`)
  const end = new URL(logout.headers.get('location')!)
  t.equal(`${end.origin}${end.pathname}`, `${issuer}/protocol/openid-connect/logout`)
  t.equal(end.searchParams.get('client_id'), op.clientId)
  t.ok(end.searchParams.get('id_token_hint'))
})

t.test('the realm\'s access tokens typed JWT are accepted as bearer tokens', async (t) => {
  const { op, issuer, app } = await keycloak(t)
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: issuer, sub: 'svc', aud: 'shop-api', azp: 'reports', exp: now + 60, iat: now, jti: 'j1', scope: 'profile' }
  const res = await fetch(`${app.baseUrl}/api`, { headers: { authorization: `Bearer ${await op.signIdToken(claims, { typ: 'JWT' })}` } })
  t.equal(res.status, 200)
  t.same(await res.json(), { sub: 'svc' })
})

t.test('OIDC_ACCESS_TOKEN_TYPES still decides', async (t) => {
  const { op, issuer, app } = await keycloak(t, { OIDC_ACCESS_TOKEN_TYPES: 'at+jwt' })
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: issuer, sub: 'svc', aud: 'shop-api', azp: 'reports', exp: now + 60, iat: now, jti: 'j1', scope: 'profile' }
  const res = await fetch(`${app.baseUrl}/api`, { headers: { authorization: `Bearer ${await op.signIdToken(claims, { typ: 'JWT' })}` } })
  t.equal(res.status, 401)
})
