// Redirects from a downstream are handed back to the caller, never followed with
// the token attached: the redirect target receives nothing, even when it is
// itself allow-listed.
import t from 'tap'
import { startDownstream, startForwarding } from '../helpers/downstream.js'

t.test('a 3xx is returned, its target receives nothing', async (t) => {
  const [elsewhere, listed] = await Promise.all([startDownstream(t), startDownstream(t)])
  const api = await startDownstream(t, (request) => ({
    status: request.method === 'POST' ? 307 : 302,
    headers: { location: request.url === '/to-listed' ? `${listed.origin}/landing` : `${elsewhere.origin}/steal` }
  }))
  const setup = await startForwarding(t, { downstreams: [api.origin, listed.origin] })

  const get = await setup.call({ url: `${api.origin}/to-elsewhere` })
  t.same(get.body.map((r: { status: number, location: string }) => [r.status, r.location]), [[302, `${elsewhere.origin}/steal`]], 'GET: the 302 and its location')
  const post = await setup.call({ url: `${api.origin}/to-elsewhere`, body: 'string' })
  t.same(post.body.map((r: { status: number, location: string }) => [r.status, r.location]), [[307, `${elsewhere.origin}/steal`]], 'POST: the 307 and its location')
  const toListed = await setup.call({ url: `${api.origin}/to-listed` })
  t.equal(toListed.body[0]?.status, 302, 'a redirect to an allow-listed origin is not followed either')

  t.equal(api.requests.length, 3, 'the downstream got the three calls')
  t.equal(elsewhere.connections, 0, 'the redirect target received nothing')
  t.equal(listed.connections, 0, 'the allow-listed redirect target received nothing')
})
