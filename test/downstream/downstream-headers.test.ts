// What request.oidc.fetch sends to an allow-listed downstream: the IdP's access
// token as a Bearer, the incoming request's tracing headers, the caller's own
// headers — and never the browser's cookies or Authorization, nor the ID token or
// the refresh token.
import t from 'tap'
import { startDownstream, startForwarding } from '../helpers/downstream.js'

const TRACING = {
  'x-request-id': 'req-7f3a',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'rojo=00f067aa0ba902b7',
  b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1',
  'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
  'x-b3-spanid': 'e457b5a2e4d86bd1',
  'x-b3-parentspanid': '05e3ac9a4f6e3b90',
  'x-b3-sampled': '1',
  'x-b3-flags': '0'
}

t.test('Bearer access token and tracing headers go out; browser credentials and other tokens do not', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  const [login] = setup.issued
  t.ok(login?.accessToken !== undefined && login.refreshToken !== undefined && login.idToken !== undefined, 'the IdP issued all three tokens')
  const sessionCookie = (await setup.browser.cookies(setup.baseUrl))['oidc.sid']!
  t.ok(sessionCookie, 'the browser holds a session cookie')

  const browserAuthorization = 'Basic YnJvd3Nlcjpzd29yZGZpc2g='
  const res = await setup.call({
    url: `${api.origin}/products/1?lang=en`,
    method: 'POST',
    body: 'string',
    text: '{"qty":2}',
    headers: {
      'content-type': 'application/json',
      'x-custom': 'kept',
      'x-b3-sampled': '0',
      Authorization: 'Bearer app-chosen-token',
      'Proxy-Authorization': 'Basic cHJveHk6cHc=',
      Cookie: 'theme=dark'
    }
  }, { ...TRACING, authorization: browserAuthorization, 'proxy-authorization': 'Basic aW5jb21pbmc6cHc=' })
  t.equal(res.status, 200)
  t.same(res.body, [{ status: 200, location: null, body: '{"ok":true,"n":1}' }], 'the downstream answer is handed back')

  t.equal(api.requests.length, 1, 'one request downstream')
  const seen = api.requests[0]!
  t.equal(seen.method, 'POST')
  t.equal(seen.url, '/products/1?lang=en')
  t.equal(seen.body, '{"qty":2}')
  t.equal(seen.headers['content-type'], 'application/json', 'the caller\'s headers are kept')
  t.equal(seen.headers['x-custom'], 'kept')
  t.equal(seen.headers.authorization, `Bearer ${login!.accessToken}`, 'Authorization is the IdP\'s access token')
  for (const [name, value] of Object.entries(TRACING)) {
    t.equal(seen.headers[name], name === 'x-b3-sampled' ? '0' : value, `${name} ${name === 'x-b3-sampled' ? 'as the caller set it' : 'propagated'}`)
  }
  t.notOk('cookie' in seen.headers, 'no cookie')
  t.notOk('proxy-authorization' in seen.headers, 'no proxy-authorization')

  const everything = api.seen()
  for (const [what, value] of Object.entries({
    'the session cookie': sessionCookie,
    'the browser\'s Authorization': browserAuthorization,
    'the app-chosen Authorization': 'app-chosen-token',
    'the cookie set in init.headers': 'theme=dark',
    'the ID token': login!.idToken!,
    'the refresh token': login!.refreshToken!
  })) {
    t.notOk(everything.includes(value), `${what} appears nowhere in what the downstream received`)
  }
})

t.test('without tracing headers in the incoming request none is invented', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  const res = await setup.call({ url: `${api.origin}/` })
  t.equal(res.body[0].status, 200)
  const headers = api.requests[0]!.headers
  t.same(Object.keys(TRACING).filter((name) => name in headers), [], 'no tracing header')
  t.equal(headers.authorization, `Bearer ${setup.issued[0]!.accessToken}`)
  t.equal(setup.idp.countGrants('refresh_token'), 0, 'a fresh token is not refreshed')
})
