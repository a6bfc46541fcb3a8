// `request.oidc.accessToken()` in a route without requireAuth: anonymous callers
// get 401 FST_OIDC_UNAUTHENTICATED; a session whose access token is about to
// expire is refreshed first, so the handler gets the new token; a fresh one is
// returned as is.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack } from '../helpers/attack.js'

function routes (app: FastifyInstance): void {
  // No guard: the route asks for the token itself.
  app.get('/upstream-token', async (request) => ({ token: await request.oidc.accessToken() }))
}

/** Logged in; `issued` lists the access tokens the OP issued, in order. */
async function loggedIn (t: Test, refreshLeeway: number): Promise<Attack & { issued: string[] }> {
  const attack = await startAttack(t, { app: { routes, refreshLeeway } })
  const issued: string[] = []
  scriptToken(attack, (ctx) => {
    issued.push(ctx.accessToken)
    return undefined
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  return Object.assign(attack, { issued })
}

const grants = (attack: Attack): string[] => attack.op.requests('/token').map((r) => r.body['grant_type'] ?? '')

t.test('anonymous: 401 FST_OIDC_UNAUTHENTICATED', async (t) => {
  const attack = await startAttack(t, { app: { routes } })
  const res = await new Browser().get(`${attack.baseUrl}/upstream-token`, { accept: 'application/json' })
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_UNAUTHENTICATED')
  t.same(grants(attack), [], 'the IdP saw nothing')
})

t.test('an access token about to expire is refreshed before it is handed out', async (t) => {
  // OP tokens live 300 s; a 600 s leeway makes every token "about to expire".
  const attack = await loggedIn(t, 600)
  const res = await attack.browser.get(`${attack.baseUrl}/upstream-token`)
  t.equal(res.status, 200)
  t.same(grants(attack), ['authorization_code', 'refresh_token'], 'one refresh grant')
  t.equal(JSON.parse(res.body).token, attack.issued[1], 'the handler got the refreshed access token')
  t.same(attack.events.map((e) => e.type), ['login', 'refresh'])
})

t.test('a fresh access token is handed out without a refresh', async (t) => {
  const attack = await loggedIn(t, 30)
  const res = await attack.browser.get(`${attack.baseUrl}/upstream-token`)
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.body).token, attack.issued[0], 'the access token of the login')
  t.same(grants(attack), ['authorization_code'], 'no refresh grant')
})
