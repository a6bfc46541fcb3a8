// A downstream that keeps refusing the token: after one refresh and one retry,
// fetch throws FST_OIDC_DOWNSTREAM_UNAUTHORIZED (401: log in again) — never a
// second retry. Without a refresh token it throws at the first 401. The session
// itself is left alone.
import t from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import { json } from '../helpers/browser.js'
import { forwardingRoutes, startDownstream, startForwarding } from '../helpers/downstream.js'

const REFUSE = { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' }, body: '{"error":"invalid_token"}' }

t.test('401, refresh, 401 again -> FST_OIDC_DOWNSTREAM_UNAUTHORIZED after exactly one retry', async (t) => {
  const api = await startDownstream(t, () => REFUSE)
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  const res = await setup.call({ url: `${api.origin}/orders`, body: 'string' })
  t.equal(res.status, 401)
  t.equal(res.body.code, 'FST_OIDC_DOWNSTREAM_UNAUTHORIZED')
  t.equal(api.requests.length, 2, 'two downstream requests: the call and one retry')
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'one refresh grant')
  const fresh = setup.issued.at(-1)!
  t.equal(fresh.grantType, 'refresh_token')
  t.same(api.requests.map((r) => r.headers.authorization), [`Bearer ${setup.issued[0]!.accessToken}`, `Bearer ${fresh.accessToken}`])
  const session = JSON.parse((await setup.browser.get(`${setup.baseUrl}/auth/session`)).body)
  t.equal(session.authenticated, true, 'the session is not ended by a downstream')
})

t.test('a session without a refresh token: the first 401 throws, nothing is retried', async (t) => {
  const api = await startDownstream(t, () => REFUSE)
  const attack = await startAttack(t, { app: { downstreams: [api.origin], routes: forwardingRoutes } })
  scriptToken(attack, async (ctx) => {
    const body = await ctx.defaultBody()
    delete body['refresh_token']
    return { body }
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack)))
  const res = await attack.browser.post(`${attack.baseUrl}/call`, json({ url: `${api.origin}/orders` }), { accept: 'application/json' })
  t.equal(res.status, 401)
  t.equal(JSON.parse(res.body).code, 'FST_OIDC_DOWNSTREAM_UNAUTHORIZED')
  t.equal(api.requests.length, 1, 'one downstream request, no retry')
  t.equal(attack.op.requests('/token').length, 1, 'no refresh grant was tried (only the code exchange)')
  t.equal(JSON.parse((await attack.browser.get(`${attack.baseUrl}/auth/session`)).body).authenticated, true, 'the session stays')
})
