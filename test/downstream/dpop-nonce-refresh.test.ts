// DPoP in the relying party against the real dev IdP asking for nonces: the code,
// refresh and userinfo requests answer its use_dpop_nonce challenges; a refresh
// keeps the binding (the same key: cnf.jkt unchanged); a downstream's nonce
// challenge (401 WWW-Authenticate: DPoP error="use_dpop_nonce" + DPoP-Nonce) is
// answered once with its nonce; forwardHeaders(url, method) hands out a one-time
// proof; a token exchanged for a downstream is bound to the session's key too.
import t from 'tap'
import { decodeJwt } from 'jose'
import { json } from '../helpers/browser.js'
import { startDownstream, startForwarding } from '../helpers/downstream.js'
import { DETAILS_AUDIENCE, TOKEN_EXCHANGE, startExchange } from '../helpers/exchange.js'
import { API_AUDIENCE, buildResourceServer } from '../helpers/resource-server.js'

const jktOf = (token: string): unknown => (decodeJwt(token)['cnf'] as { jkt?: string } | undefined)?.jkt

t.test('an IdP that asks for nonces: the code grant answers it, userinfo reuses it', async (t) => {
  const setup = await startForwarding(t, { downstreams: [], idp: { dpop: 'nonce' }, app: { dpop: true, fetchUserinfo: true } })
  const calls = setup.idp.log.filter((e) => e.route === 'token' || e.route === 'userinfo').map((e) => [e.route, e.status, e.dpop])
  t.same(calls, [['token', 400, true], ['token', 200, true], ['userinfo', 200, true]],
    'the token request: use_dpop_nonce, then sent with the nonce; userinfo (same origin) with that nonce at once')
  t.same(setup.events.map((e) => e.type), ['login'], 'logged in')
  const me = await setup.browser.get(`${setup.baseUrl}/private`)
  t.equal(me.status, 200)
})

t.test('a refresh keeps the binding (same key), with the IdP asking for nonces', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, {
    downstreams: [api.origin],
    // Every access token is "about to expire": the first call refreshes.
    idp: { dpop: 'nonce', accessTokenTtl: 3600, jwtAccessTokens: { audience: API_AUDIENCE, scope: 'api:read' } },
    app: { dpop: true, refreshLeeway: 3600, scope: 'openid profile api:read' }
  })
  const { idp } = setup
  const grants = (type: string): Array<[number | undefined, boolean | undefined]> => idp.log.filter((e) => e.grantType === type).map((e) => [e.status, e.dpop])
  t.same(grants('authorization_code'), [[400, true], [200, true]], 'the code grant: use_dpop_nonce, then redeemed with the nonce')
  const jkt = jktOf(setup.issued[0]!.accessToken)
  t.type(jkt, 'string')

  const res = await setup.call({ url: `${api.origin}/a` })
  t.equal(res.body[0].status, 200)
  t.same(grants('refresh_token').map(([, dpop]) => dpop), grants('refresh_token').map(() => true), 'every refresh request carried a proof')
  t.equal(grants('refresh_token').at(-1)![0], 200, 'the refresh succeeded')
  const refreshed = setup.issued.filter((i) => i.grantType === 'refresh_token')
  t.equal(refreshed.length, 1)
  t.not(refreshed[0]!.accessToken, setup.issued[0]!.accessToken, 'a new access token')
  t.equal(jktOf(refreshed[0]!.accessToken), jkt, 'bound to the same key')
  t.equal(api.requests[0]!.headers.authorization, `DPoP ${refreshed[0]!.accessToken}`, 'the new token went downstream as DPoP')
  t.match(decodeJwt(String(api.requests[0]!.headers.dpop)), { htm: 'GET', htu: `${api.origin}/a` })
})

t.test('a downstream\'s use_dpop_nonce challenge is answered once with its nonce; the next request sends it at once', async (t) => {
  const api = await startDownstream(t, (request) => {
    const nonce = decodeJwt(String(request.headers.dpop))['nonce']
    if (nonce === 'srv-1') return undefined
    return { status: 401, headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce needed"', 'dpop-nonce': 'srv-1' }, body: '{}' }
  })
  const setup = await startForwarding(t, { downstreams: [api.origin], app: { dpop: true } })
  const first = await setup.call({ url: `${api.origin}/a`, method: 'POST', body: 'string', text: 'hello' })
  t.equal(first.body[0].status, 200, 'answered after the nonce round-trip')
  const second = await setup.call({ url: `${api.origin}/b` })
  t.equal(second.body[0].status, 200)
  t.same(api.requests.map((r) => [r.method, r.url, decodeJwt(String(r.headers.dpop))['nonce'] ?? null, r.body]),
    [['POST', '/a', null, 'hello'], ['POST', '/a', 'srv-1', 'hello'], ['GET', '/b', 'srv-1', '']],
    'the body sent again with the nonce; the next request carried it from the start')
  t.equal(setup.idp.countGrants('refresh_token'), 0, 'a nonce challenge is no reason to refresh')

  const streamed = await setup.call({ url: `${api.origin}/c`, method: 'PUT', body: 'stream' })
  t.equal(streamed.body[0].status, 200, 'the nonce is known: a stream body goes once')
})

t.test('forwardHeaders(url, method): authorization DPoP and a proof good for one such request', async (t) => {
  let apiUrl = ''
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { jwtAccessTokens: { audience: API_AUDIENCE, scope: 'api:read' } },
    app: {
      dpop: true,
      scope: 'openid api:read',
      routes: (app) => {
        app.post<{ Body: { url: string, method?: string } }>('/dpop-headers', async (request) => await request.oidc.forwardHeaders(request.body.url, request.body.method))
      }
    },
    beforeApp: async (idp) => {
      apiUrl = (await buildResourceServer(t, { issuer: idp.issuer, audience: API_AUDIENCE })).url
      return { downstreams: [apiUrl] }
    }
  })
  const res = await setup.browser.post(`${setup.baseUrl}/dpop-headers`, json({ url: `${apiUrl}/api?page=2` }), { accept: 'application/json' })
  const headers = JSON.parse(res.body) as Record<string, string>
  t.equal(headers['authorization'], `DPoP ${setup.issued[0]!.accessToken}`)
  t.match(decodeJwt(headers['dpop']!), { htm: 'GET', htu: `${apiUrl}/api` }, 'htu without the query')
  const used = await fetch(`${apiUrl}/api?page=2`, { headers })
  t.equal(used.status, 200, 'the API takes them')
  const again = await fetch(`${apiUrl}/api?page=2`, { headers })
  t.equal(again.status, 401, 'once')
  const post = await setup.browser.post(`${setup.baseUrl}/dpop-headers`, json({ url: `${apiUrl}/api`, method: 'delete' }), { accept: 'application/json' })
  t.equal(decodeJwt(JSON.parse(post.body).dpop)['htm'], 'DELETE', 'for the method asked')
})

t.test('a DPoP session\'s token exchange: the proof goes to the IdP, the exchanged token is bound to the session\'s key', async (t) => {
  const setup = await startExchange(t, { app: { dpop: true } })
  const res = await setup.call({ url: `${setup.details.url}/api` })
  t.equal(res.body[0].status, 200, 'details accepted it')
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 1)
  t.ok(setup.idp.log.find((e) => e.grantType === TOKEN_EXCHANGE)?.dpop, 'the exchange request carried a proof')
  const sent = setup.details.authorizations[0]!
  t.match(sent, /^DPoP /, 'sent as DPoP')
  const claims = decodeJwt(sent.slice(5))
  t.equal(claims.aud, DETAILS_AUDIENCE)
  t.type(jktOf(sent.slice(5)), 'string', 'bound to a key (cnf.jkt), which the API matched with the proof\'s')
  const stolen = await fetch(`${setup.details.url}/api`, { headers: { authorization: `Bearer ${sent.slice(5)}` } })
  t.equal(stolen.status, 401, 'the exchanged token alone is refused')
  const again = await setup.call({ url: `${setup.details.url}/api` })
  t.equal(again.body[0].status, 200)
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 1, 'kept in the session: no second exchange')
})

t.test('a downstream refusing the DPoP token (401 invalid_token): one refresh with a proof, one retry with the new token', async (t) => {
  const api = await startDownstream(t, (_request, index) => index === 0
    ? { status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token", algs="ES256"' }, body: '{}' }
    : undefined)
  const setup = await startForwarding(t, { downstreams: [api.origin], app: { dpop: true } })
  const res = await setup.call({ url: `${api.origin}/a` })
  t.equal(res.body[0].status, 200)
  const refreshes = setup.idp.log.filter((e) => e.grantType === 'refresh_token')
  t.same(refreshes.map((e) => [e.status, e.dpop]), [[200, true]], 'one refresh, with a proof')
  const refreshed = setup.issued.find((i) => i.grantType === 'refresh_token')!
  t.same(api.requests.map((r) => r.headers.authorization), [`DPoP ${setup.issued[0]!.accessToken}`, `DPoP ${refreshed.accessToken}`])
})
