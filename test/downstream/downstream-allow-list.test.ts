// request.oidc.fetch and forwardHeaders(url) send the user's token only to an
// exact allow-listed origin. Every look-alike is refused with
// FST_OIDC_DOWNSTREAM_ORIGIN_DENIED before a byte leaves: the servers that would
// have received it saw not even a connection.
import t from 'tap'
import { startDownstream, startForwarding } from '../helpers/downstream.js'

t.test('look-alike origins are refused before anything is sent; exact ones go through', async (t) => {
  // api: allowed as http://127.0.0.1:<port>. named: allowed as http://localhost:<port>. tls: allowed
  // only as https (it speaks plain http, so an http call would reach it). other: not allowed.
  // All of them listen on every loopback address.
  const [api, named, tls, other] = await Promise.all([startDownstream(t), startDownstream(t), startDownstream(t), startDownstream(t)])
  const setup = await startForwarding(t, { downstreams: [api.origin, `http://localhost:${named.port}`, `https://127.0.0.1:${tls.port}/`] })
  const A = api.port
  const N = named.port

  const refused: Array<[string, string]> = [
    [`http://127.0.0.1:${other.port}/`, 'another port'],
    [`http://localhost:${A}/`, 'another name of the same host'],
    [`http://[::1]:${A}/`, 'the same host over IPv6'],
    [`http://localhost.:${N}/`, 'a trailing dot'],
    [`http://127.0.0.1:${N}/`, 'the address of an allowed name'],
    [`http://127.0.0.1.evil.test:${A}/`, 'the allowed host as a prefix of another'],
    [`https://127.0.0.1:${A}/`, 'https for an http entry'],
    [`http://127.0.0.1:${tls.port}/`, 'http for an https entry'],
    [`http://127.0.0.1:${A}@localhost:${other.port}/`, 'the allowed origin as user info'],
    [`http://user:pw@127.0.0.1:${A}/`, 'credentials on the allowed origin'],
    [`http://user@127.0.0.1:${A}/`, 'a user name on the allowed origin'],
    [`http://:pw@127.0.0.1:${A}/`, 'a password on the allowed origin'],
    [`http://localhost:${other.port}#@127.0.0.1:${A}/`, 'the allowed origin in the fragment'],
    [`blob:http://127.0.0.1:${A}/3f2a`, 'a blob: URL of the allowed origin'],
    [`ws://127.0.0.1:${A}/`, 'ws:'],
    [`ftp://127.0.0.1:${A}/`, 'ftp:'],
    ['file:///etc/passwd', 'file:'],
    ['data:text/plain,hello', 'data:'],
    ['/products/1', 'a relative URL'],
    ['http://', 'an unparsable URL'],
    ['', 'an empty string']
  ]
  for (const [url, what] of refused) {
    const fetched = await setup.call({ url })
    t.equal(fetched.status, 500, `fetch: ${what} -> 500`)
    t.equal(fetched.body.code, 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED', `fetch: ${what} -> FST_OIDC_DOWNSTREAM_ORIGIN_DENIED`)
    const headers = await setup.forwardHeaders(url)
    t.equal(headers.status, 500, `forwardHeaders: ${what} -> 500`)
    t.equal(headers.body.code, 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED', `forwardHeaders: ${what} -> FST_OIDC_DOWNSTREAM_ORIGIN_DENIED`)
    t.notOk(url !== '' && String(fetched.body.message).includes(url), `the message does not echo the URL (${what})`)
  }
  t.equal(api.connections, 0, 'the allow-listed service received nothing')
  t.equal(named.connections, 0, 'the service allowed by name received nothing')
  t.equal(tls.connections, 0, 'the https-only service received nothing over http')
  t.equal(other.connections, 0, 'the other service received nothing')
  t.equal(setup.idp.countGrants('refresh_token'), 0, 'no refresh was attempted')
  t.ok(setup.logs.some((line) => line.includes('FST_OIDC_DOWNSTREAM_ORIGIN_DENIED') && line.includes(`"origin":"http://127.0.0.1:${other.port}"`)),
    'the refused origin is logged with the error')

  // The same origin, spelled as the URL parser normalises it, is the same origin.
  const allowed: Array<[string, string]> = [
    [`${api.origin}/exact`, '/exact'],
    [`HTTP://127.0.0.1:${A}/upper`, '/upper'],
    [`http://127.1:${A}/short`, '/short'],
    [`http://127.0.0.1.:${A}/dot`, '/dot'],
    [`http://127.0.0.1:${A}\\@localhost:${other.port}/`, '/@localhost:' + other.port + '/']
  ]
  for (const [url, path] of allowed) {
    const res = await setup.call({ url })
    t.equal(res.body[0]?.status, 200, `${url} is allowed`)
    t.equal(api.requests.at(-1)?.url, path, `and reached the allowed service at ${path}`)
  }
  const headers = await setup.forwardHeaders(`HTTP://127.0.0.1:${A}/x`)
  t.equal(headers.body.authorization, `Bearer ${setup.issued[0]!.accessToken}`, 'forwardHeaders allows the same origin')
  t.equal(api.requests.length, allowed.length, 'every allowed call reached the allowed service')
  t.equal(other.connections, 0, 'the other service still received nothing')

  for (const url of [`http://localhost:${N}/a`, `http://LocalHost:${N}/b`]) {
    t.equal((await setup.call({ url })).body[0]?.status, 200, `${url} is allowed`)
  }
  t.same(named.requests.map((r) => r.url), ['/a', '/b'], 'the service allowed by name got both')
})
