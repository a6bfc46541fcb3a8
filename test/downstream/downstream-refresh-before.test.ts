// An access token about to expire is refreshed before it is forwarded: the IdP
// sees one refresh grant (also for calls made together) and the downstream gets
// the new token. forwardHeaders(url) does the same; forwardHeaders() without a
// URL hands out no token and refreshes nothing.
import t from 'tap'
import { startDownstream, startForwarding } from '../helpers/downstream.js'

// Tokens live 3600 s and the leeway is 3600 s: every access token is "about to expire".
const ALWAYS_DUE = { idp: { accessTokenTtl: 3600 }, app: { refreshLeeway: 3600 } }

t.test('fetch refreshes a token about to expire, once, and forwards the new one', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, { downstreams: [api.origin], ...ALWAYS_DUE })
  t.equal(setup.idp.countGrants('refresh_token'), 0, 'no refresh at login')

  const res = await setup.call({ url: `${api.origin}/a`, parallel: 5 })
  t.same(res.body.map((r: { status: number }) => r.status), [200, 200, 200, 200, 200], 'five calls answered')
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'the IdP saw one refresh grant for the five calls')
  const refreshed = setup.issued.filter((i) => i.grantType === 'refresh_token')
  t.equal(refreshed.length, 1)
  t.not(refreshed[0]!.accessToken, setup.issued[0]!.accessToken, 'the IdP issued a new access token')
  t.same(api.requests.map((r) => r.headers.authorization), Array(5).fill(`Bearer ${refreshed[0]!.accessToken}`),
    'every downstream request carried the new token')
  t.same(setup.events.filter((e) => e.type.startsWith('refresh')).map((e) => e.type), ['refresh'], 'one refresh event')
})

t.test('forwardHeaders(url) refreshes first too; forwardHeaders() hands out no token and refreshes nothing', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, { downstreams: [api.origin], ...ALWAYS_DUE })

  const bare = await setup.forwardHeaders(undefined, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })
  t.same(bare.body, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, 'tracing headers only')
  t.equal(setup.idp.countGrants('refresh_token'), 0, 'no refresh without a URL')

  const withUrl = await setup.forwardHeaders(`${api.origin}/reviews`, { 'x-request-id': 'r-1' })
  t.equal(withUrl.status, 200)
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'one refresh grant')
  const refreshed = setup.issued.find((i) => i.grantType === 'refresh_token')
  t.same(withUrl.body, { 'x-request-id': 'r-1', authorization: `Bearer ${refreshed!.accessToken}` }, 'the new token and the tracing headers')
  t.equal(api.connections, 0, 'forwardHeaders itself sends nothing')
})
