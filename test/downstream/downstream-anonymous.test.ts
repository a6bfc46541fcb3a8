// Without a logged-in user there is no token to forward: fetch and
// forwardHeaders(url) answer 401 FST_OIDC_UNAUTHENTICATED and nothing is sent;
// forwardHeaders() without a URL still gives the tracing headers. A URL outside
// the allow-list is refused as such first.
import t from 'tap'
import { startDownstream, startForwarding } from '../helpers/downstream.js'

t.test('anonymous: 401 and nothing sent', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, { downstreams: [api.origin], login: false })

  const fetched = await setup.call({ url: `${api.origin}/orders` })
  t.equal(fetched.status, 401)
  t.equal(fetched.body.code, 'FST_OIDC_UNAUTHENTICATED')

  const headers = await setup.forwardHeaders(`${api.origin}/orders`)
  t.equal(headers.status, 401)
  t.equal(headers.body.code, 'FST_OIDC_UNAUTHENTICATED')

  const tracing = await setup.forwardHeaders(undefined, { 'x-request-id': 'anon-1', cookie: 'a=b', authorization: 'Basic eDp5' })
  t.equal(tracing.status, 200)
  t.same(tracing.body, { 'x-request-id': 'anon-1' }, 'forwardHeaders() gives the tracing headers only')

  const denied = await setup.call({ url: 'https://elsewhere.example/' })
  t.equal(denied.body.code, 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED', 'a refused URL is refused as such')

  t.equal(api.connections, 0, 'the downstream received nothing')
  t.same(setup.idp.log.filter((e) => e.path === '/token'), [], 'the IdP was not asked for anything')
})
