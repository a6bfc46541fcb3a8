// The scopes a session holds (what `requireAuth({ scopes })` checks) are the ones
// the token response granted. RFC 6749 5.1: an answer without `scope` grants
// exactly the requested scopes; one with `scope` grants only those.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'
import type { TokenContext, TokenScript } from '../helpers/hostile-op.js'

function routes (app: FastifyInstance): void {
  app.get('/email', { preHandler: app.requireAuth({ scopes: ['email'] }) }, async () => ({ ok: true }))
  app.get('/scopes', async (request) => ({ scopes: request.oidc.scopes }))
}

async function loggedIn (t: Test, answer: (ctx: TokenContext) => Promise<TokenScript>): Promise<Attack> {
  const attack = await startAttack(t, { app: { routes, scope: 'openid profile email' } })
  scriptToken(attack, answer)
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return attack
}

const get = async (attack: Attack, path: string): Promise<{ status: number, body: Record<string, unknown> }> => {
  const res = await attack.browser.get(`${attack.baseUrl}${path}`, { accept: 'application/json' })
  return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> }
}

t.test('a token response without scope grants the requested scopes', async (t) => {
  const attack = await loggedIn(t, async (ctx) => {
    const body = await ctx.defaultBody()
    delete body['scope']
    return { body }
  })
  t.equal(attack.op.requests('/authorize')[0]?.query['scope'], 'openid profile email', 'what was requested')
  t.same(await get(attack, '/scopes'), { status: 200, body: { scopes: ['openid', 'profile', 'email'] } })
  t.equal((await get(attack, '/email')).status, 200, 'requireAuth({ scopes: [\'email\'] }) lets the user in')
})

t.test('a token response with a narrower scope grants only that', async (t) => {
  const attack = await loggedIn(t, async (ctx) => ({ body: { ...await ctx.defaultBody(), scope: 'openid profile' } }))
  t.same(await get(attack, '/scopes'), { status: 200, body: { scopes: ['openid', 'profile'] } })
  const res = await get(attack, '/email')
  t.equal(res.status, 403)
  t.equal(res.body['code'], 'FST_OIDC_FORBIDDEN')
})

t.test('an anonymous request has no scopes', async (t) => {
  const attack = await startAttack(t, { app: { routes } })
  const res = await new Browser().get(`${attack.baseUrl}/scopes`)
  t.same(JSON.parse(res.body), { scopes: [] })
})
