// The IdP refuses the refresh made for a forwarded call (invalid_grant: here the
// rotated refresh token was already spent): the session ends and fetch throws
// FST_OIDC_INVALID_GRANT — whether the refresh came before the call (token about
// to expire, nothing is sent) or after the downstream's 401 (no retry).
import t from 'tap'
import type { Test } from 'tap'
import { startDownstream, startForwarding, type ForwardingSetup } from '../helpers/downstream.js'
import { useRefreshToken } from '../helpers/issued-tokens.js'

async function spendRefreshToken (t: Test, setup: ForwardingSetup): Promise<void> {
  const spent = await useRefreshToken(setup.idp, setup.issued[0]!.refreshToken!)
  t.equal(spent.status, 200, 'the refresh token was used (and rotated) behind the app\'s back')
}

async function expectEnded (t: Test, setup: ForwardingSetup): Promise<void> {
  const session = JSON.parse((await setup.browser.get(`${setup.baseUrl}/auth/session`)).body)
  t.equal(session.authenticated, false, 'the session is over')
  t.same(setup.events.filter((e) => e.type === 'refresh_failure').map((e) => e.reason), ['invalid_grant'], 'one refresh_failure (invalid_grant)')
}

t.test('refresh before forwarding refused: FST_OIDC_INVALID_GRANT, nothing sent, session ended', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, {
    downstreams: [api.origin],
    idp: { rotateRefreshToken: true, accessTokenTtl: 3600 },
    app: { refreshLeeway: 3600 }
  })
  await spendRefreshToken(t, setup)
  const res = await setup.call({ url: `${api.origin}/orders` })
  t.equal(res.status, 401)
  t.equal(res.body.code, 'FST_OIDC_INVALID_GRANT')
  t.equal(api.connections, 0, 'the downstream received nothing')
  await expectEnded(t, setup)
})

t.test('refresh after a downstream 401 refused: FST_OIDC_INVALID_GRANT, no retry, session ended', async (t) => {
  const api = await startDownstream(t, () => ({ status: 401, body: '{"error":"invalid_token"}' }))
  const setup = await startForwarding(t, { downstreams: [api.origin], idp: { rotateRefreshToken: true } })
  await spendRefreshToken(t, setup)
  const res = await setup.call({ url: `${api.origin}/orders`, body: 'string' })
  t.equal(res.status, 401)
  t.equal(res.body.code, 'FST_OIDC_INVALID_GRANT')
  t.equal(api.requests.length, 1, 'one downstream request, no retry')
  await expectEnded(t, setup)
})
