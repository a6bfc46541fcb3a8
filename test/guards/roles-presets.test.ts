// Roles come from the same place for every path: `authenticate`'s result for
// Basic (basic-auth.test.ts), the access token for bearer callers, and the ID
// token's claims for sessions — a dotted path or a preset: `keycloak` (realm
// roles plus this client's `resource_access` roles), `entra` (`roles`), `okta`
// (`groups`). requireAuth({ roles }) answers 403 when one is missing.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { rolesFrom } from '../../lib/claims.js'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'

t.test('rolesFrom: paths and presets', async (t) => {
  const claims = {
    sub: 'a',
    roles: ['entra-role'],
    groups: 'okta-1 okta-2',
    realm_access: { roles: ['realm-admin', 'shared'] },
    resource_access: { shop: { roles: ['shop-editor', 'shared'] }, other: { roles: ['other-role'] } }
  }
  t.same(rolesFrom(claims, 'keycloak', 'shop'), ['realm-admin', 'shared', 'shop-editor'], 'keycloak: realm and this client, once each')
  t.same(rolesFrom(claims, 'keycloak'), ['realm-admin', 'shared'], 'keycloak without a client id: realm roles')
  t.same(rolesFrom(claims, 'entra'), ['entra-role'])
  t.same(rolesFrom(claims, 'okta'), ['okta-1', 'okta-2'], 'a space-separated string')
  t.same(rolesFrom(claims, 'resource_access.other.roles'), ['other-role'], 'a dotted path')
  t.same(rolesFrom(claims, 'constructor'), [], 'no prototype lookups')
  t.same(rolesFrom(claims, 'realm_access.toString'), [])
  t.same(rolesFrom(null, 'keycloak', 'shop'), [])
  t.same(rolesFrom({ sub: 'a', roles: ['x', 3, null] }, 'roles'), ['x'], 'only strings')
})

function routes (app: FastifyInstance): void {
  app.get('/editor', { preHandler: app.requireAuth({ roles: ['shop-editor'] }) }, async (request) => ({ roles: request.oidc.roles }))
  app.get('/owner', { preHandler: app.requireAuth({ roles: ['owner'] }) }, async () => ({ ok: true }))
}

t.test('a session with Keycloak claims and rolesClaim keycloak: roles enforced (200 / 403)', async (t) => {
  const attack = await startAttack(t, { app: { rolesClaim: 'keycloak', routes } })
  scriptToken(attack, async (ctx) => ({
    body: {
      ...await ctx.defaultBody(),
      id_token: await ctx.sign({
        ...ctx.defaultClaims(),
        realm_access: { roles: ['offline_access'] },
        resource_access: { [attack.op.clientId]: { roles: ['shop-editor'] }, 'another-client': { roles: ['owner'] } }
      })
    }
  }))
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const editor = await attack.browser.get(`${attack.baseUrl}/editor`, { accept: 'application/json' })
  t.same({ status: editor.status, body: JSON.parse(editor.body) }, { status: 200, body: { roles: ['offline_access', 'shop-editor'] } })
  const owner = await attack.browser.get(`${attack.baseUrl}/owner`, { accept: 'application/json' })
  t.equal(owner.status, 403, 'another client\'s role is not this app\'s')
  t.equal(JSON.parse(owner.body).code, 'FST_OIDC_FORBIDDEN')
})

t.test('a session with Okta groups and rolesClaim okta', async (t) => {
  const attack = await startAttack(t, { app: { env: { OIDC_ROLES_CLAIM: 'okta' }, routes } })
  scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), groups: ['shop-editor', 'Everyone'] }) } }))
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  t.equal((await attack.browser.get(`${attack.baseUrl}/editor`, { accept: 'application/json' })).status, 200)
  t.equal((await attack.browser.get(`${attack.baseUrl}/owner`, { accept: 'application/json' })).status, 403)
})
