// Roles come from a configurable claim path: `rolesClaim: 'realm_access.roles'`
// reads Keycloak's nested claim; a string claim is split on spaces or commas; a
// missing path, a non-object on the way or a non-list value gives no roles.
// Checked through what `requireAuth({ roles })` lets through and `request.oidc.roles`.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { expectLoggedIn, hitCallback, reachCallback, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'

function routes (app: FastifyInstance): void {
  app.get('/admin', { preHandler: app.requireAuth({ roles: ['admin'] }) }, async () => ({ ok: true }))
  app.get('/whoami', async (request) => ({ via: request.oidc.via, roles: request.oidc.roles }))
}

/** Logs a fresh browser in as a user with `claims`; answers what /admin and /whoami say. */
async function loginAs (t: Test, attack: Attack, claims: Record<string, unknown>): Promise<{ admin: number, roles: string[], via: string | null }> {
  attack.op.user = { sub: 'alice', ...claims }
  const browser = new Browser()
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack, browser), { browser }))
  const admin = await browser.get(`${attack.baseUrl}/admin`, { accept: 'application/json' })
  const whoami = JSON.parse((await browser.get(`${attack.baseUrl}/whoami`)).body) as { roles: string[], via: string | null }
  return { admin: admin.status, ...whoami }
}

t.test('rolesClaim realm_access.roles (Keycloak)', async (t) => {
  const attack = await startAttack(t, { app: { rolesClaim: 'realm_access.roles', routes } })

  t.same(JSON.parse((await new Browser().get(`${attack.baseUrl}/whoami`)).body), { via: null, roles: [] }, 'anonymous: no roles, via null')

  t.same(await loginAs(t, attack, { realm_access: { roles: ['user', 'admin'] }, roles: ['user'] }), { admin: 200, roles: ['user', 'admin'], via: 'session' },
    'the nested claim is read (not the top-level roles)')
  t.same(await loginAs(t, attack, { realm_access: { roles: ['user'] }, roles: ['admin'] }), { admin: 403, roles: ['user'], via: 'session' },
    'a top-level roles claim grants nothing')
  t.same(await loginAs(t, attack, { roles: ['admin'] }), { admin: 403, roles: [], via: 'session' }, 'no realm_access: no roles')
  t.same(await loginAs(t, attack, { realm_access: 'admin' }), { admin: 403, roles: [], via: 'session' }, 'realm_access not an object: no roles')
  t.same(await loginAs(t, attack, { realm_access: null }), { admin: 403, roles: [], via: 'session' }, 'realm_access null: no roles')
  t.same(await loginAs(t, attack, { realm_access: { roles: 'user admin' } }), { admin: 200, roles: ['user', 'admin'], via: 'session' },
    'a space-separated string at the path is split')
})

t.test('default rolesClaim (roles): strings are split, non-strings dropped, other shapes give no roles', async (t) => {
  const attack = await startAttack(t, { app: { routes } })
  t.same(await loginAs(t, attack, { roles: 'user admin' }), { admin: 200, roles: ['user', 'admin'], via: 'session' }, 'space-separated')
  t.same(await loginAs(t, attack, { roles: 'user,admin' }), { admin: 200, roles: ['user', 'admin'], via: 'session' }, 'comma-separated')
  t.same(await loginAs(t, attack, { roles: 'administrator' }), { admin: 403, roles: ['administrator'], via: 'session' }, 'no substring match')
  t.same(await loginAs(t, attack, { roles: ['admin', 42, null, { name: 'root' }] }), { admin: 200, roles: ['admin'], via: 'session' }, 'only strings count')
  t.same(await loginAs(t, attack, { roles: { admin: true } }), { admin: 403, roles: [], via: 'session' }, 'an object: no roles')
  t.same(await loginAs(t, attack, { roles: true }), { admin: 403, roles: [], via: 'session' }, 'a boolean: no roles')
  t.same(await loginAs(t, attack, {}), { admin: 403, roles: [], via: 'session' }, 'no roles claim: no roles')
})
