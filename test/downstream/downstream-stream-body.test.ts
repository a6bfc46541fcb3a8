// A stream body cannot be sent twice. It is forwarded like any other body; when
// the downstream refuses the token, the 401 is handed back as is (one request,
// no retry), the session still replaces the refused token, and the next call
// carries the new one.
import t from 'tap'
import { startDownstream, startForwarding } from '../helpers/downstream.js'

t.test('a stream body is forwarded', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  const res = await setup.call({ url: `${api.origin}/upload`, body: 'stream', text: 'streamed-bytes' })
  t.equal(res.body[0]?.status, 200)
  t.equal(api.requests.length, 1)
  t.equal(api.requests[0]?.body, 'streamed-bytes')
  t.equal(api.requests[0]?.headers.authorization, `Bearer ${setup.issued[0]!.accessToken}`)
})

t.test('a 401 to a stream body is returned, not retried; the next call has the new token', async (t) => {
  const revoked = new Set<string>()
  const api = await startDownstream(t, (request) => revoked.has(String(request.headers.authorization).slice('Bearer '.length))
    ? { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' }, body: '{"error":"invalid_token"}' }
    : undefined)
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  revoked.add(setup.issued[0]!.accessToken)

  const refused = await setup.call({ url: `${api.origin}/upload`, body: 'stream', text: 'first' })
  t.same(refused.body, [{ status: 401, location: null, body: '{"error":"invalid_token"}' }], 'the downstream\'s 401 is handed back')
  t.equal(api.requests.length, 1, 'one downstream request: a stream is not sent twice')
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'the refused token was replaced')

  const again = await setup.call({ url: `${api.origin}/upload`, body: 'stream', text: 'second' })
  t.equal(again.body[0]?.status, 200, 'the next call succeeds')
  t.equal(api.requests[1]?.body, 'second')
  t.equal(api.requests[1]?.headers.authorization, `Bearer ${setup.issued.at(-1)!.accessToken}`, 'with the new token')
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'no further refresh')
})
