// `authorizeRedirect(request, reply, { extra: { max_age } })`: the IdP is asked
// for an authentication at most max_age seconds old, and the ID token must then
// carry `auth_time` within max_age (+ the 60 s clock tolerance): a missing or
// stale auth_time is 401 FST_OIDC_ID_TOKEN_INVALID (reason id_token_auth_time): no
// user is signed in, so this is not a step-up (whose failures are 403, test/guards/step-up*).
// Without max_age, auth_time is not required.
import type { FastifyInstance } from 'fastify'
import type { JWTPayload } from 'jose'
import t from 'tap'
import type { Test } from 'tap'
import { expectLoggedIn, expectRejected, hitCallback, opCalls, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { Attack, CallbackAnswer } from '../helpers/attack.js'

const now = (): number => Math.floor(Date.now() / 1000)

function signinRoute (app: FastifyInstance): void {
  app.get('/signin', async (request, reply) => await app.oidc.client().authorizeRedirect(request, reply, { extra: { max_age: '60' } }))
  app.get<{ Querystring: { max_age: string } }>('/signin-any', async (request, reply) =>
    await app.oidc.client().authorizeRedirect(request, reply, { extra: { max_age: request.query.max_age } }))
}

/** A login started at `path` whose ID token has the default claims, plus `auth_time` when given. */
async function loginWith (t: Test, path: string, authTime: number | undefined): Promise<{ attack: Attack, res: CallbackAnswer }> {
  const attack = await startAttack(t, { app: { routes: signinRoute } })
  scriptToken(attack, async (ctx) => {
    const claims: JWTPayload = { ...ctx.defaultClaims(), ...(authTime === undefined ? {} : { auth_time: authTime }) }
    return { body: { ...await ctx.defaultBody(), id_token: await ctx.sign(claims) } }
  })
  const res = await hitCallback(attack, await reachCallback(attack, attack.browser, path))
  return { attack, res }
}

t.test('max_age is sent to the IdP; an ID token without auth_time is refused', async (t) => {
  const { attack, res } = await loginWith(t, '/signin', undefined)
  t.equal(attack.op.requests('/authorize')[0]?.query['max_age'], '60', 'the IdP was asked for max_age=60')
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_auth_time' })
  t.same(opCalls(attack.op), ['GET /authorize', 'POST /token', 'GET /jwks'], 'nothing after the ID token check')
})

t.test('max_age=60: an authentication 10 minutes old is refused', async (t) => {
  const { attack, res } = await loginWith(t, '/signin', now() - 600)
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_auth_time' })
})

t.test('max_age=60: an authentication older than max_age + the tolerance (150 s) is refused', async (t) => {
  const { attack, res } = await loginWith(t, '/signin', now() - 150)
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_ID_TOKEN_INVALID', reason: 'id_token_auth_time' })
})

t.test('max_age=60: a fresh auth_time logs in', async (t) => {
  const { attack, res } = await loginWith(t, '/signin', now() - 5)
  await expectLoggedIn(t, attack, res)
})

t.test('max_age=60: auth_time past max_age but within the clock tolerance logs in', async (t) => {
  const { attack, res } = await loginWith(t, '/signin', now() - 90)
  await expectLoggedIn(t, attack, res)
})

t.test('without max_age, an ID token without auth_time logs in', async (t) => {
  const { attack, res } = await loginWith(t, '/auth/login', undefined)
  t.notOk('max_age' in (attack.op.requests('/authorize')[0]?.query ?? {}), 'no max_age sent')
  await expectLoggedIn(t, attack, res)
})

t.test('without max_age, an old auth_time is not checked', async (t) => {
  const { attack, res } = await loginWith(t, '/auth/login', now() - 86400)
  await expectLoggedIn(t, attack, res)
})

for (const maxAge of ['-1', '1.5', '60s', '', '9999999999']) {
  t.test(`max_age ${JSON.stringify(maxAge)} (not whole seconds the plugin can check) is not sent, and auth_time is not required`, async (t) => {
    const { attack, res } = await loginWith(t, `/signin-any?max_age=${encodeURIComponent(maxAge)}`, undefined)
    t.notOk('max_age' in (attack.op.requests('/authorize')[0]?.query ?? {}), 'the IdP was not asked for it')
    await expectLoggedIn(t, attack, res)
  })
}
