// Token exchange per downstream (RFC 8693), end to end against the dev IdP's
// exchange grant and two oidcResourceServer services: each service receives a
// token whose `aud` is only its own, never the user's access token; one service's
// token is refused by the other; the exchanged token is kept in the session (one
// exchange per session and downstream for many calls, in one request or several).
import t from 'tap'
import { decodeJwt } from 'jose'
import { startDownstream, startForwarding } from '../helpers/downstream.js'
import { DETAILS_AUDIENCE, REVIEWS_AUDIENCE, TOKEN_EXCHANGE, startExchange } from '../helpers/exchange.js'

t.test('details and reviews each receive a token for their own audience only, exchanged once per session', async (t) => {
  const setup = await startExchange(t)
  const { details, reviews, idp } = setup
  const userToken = setup.issued[0]!.accessToken

  const first = await setup.call({ url: `${details.url}/api`, parallel: 4 })
  t.same(first.body.map((r: { status: number }) => r.status), [200, 200, 200, 200], 'details answered the four calls')
  t.equal(JSON.parse(first.body[0].body).user.sub, 'demo', 'details sees the user')
  // Two requests of the session at once (each with its own session object), three calls in all.
  const [second, third] = await Promise.all([setup.call({ url: `${reviews.url}/api`, parallel: 2 }), setup.call({ url: `${reviews.url}/api` })])
  t.same([...second!.body, ...third!.body].map((r: { status: number }) => r.status), [200, 200, 200], 'reviews answered the three calls')
  t.equal(idp.countGrants(TOKEN_EXCHANGE), 2, 'one exchange per downstream for the seven calls')

  const again = await setup.call({ url: `${details.url}/api` })
  t.equal(again.body[0].status, 200)
  t.equal(idp.countGrants(TOKEN_EXCHANGE), 2, 'a later request of the session uses the token kept in the session')

  const detailsTokens = new Set(details.authorizations)
  const reviewsTokens = new Set(reviews.authorizations)
  t.equal(detailsTokens.size, 1, 'details got the same token every time')
  t.equal(reviewsTokens.size, 1, 'reviews got the same token every time')
  const detailsToken = [...detailsTokens][0]!.replace(/^Bearer /, '')
  const reviewsToken = [...reviewsTokens][0]!.replace(/^Bearer /, '')
  t.equal(decodeJwt(detailsToken).aud, DETAILS_AUDIENCE, 'details: aud is details alone')
  t.equal(decodeJwt(detailsToken).scope, 'details:read', 'details: the scope asked for')
  t.equal(decodeJwt(reviewsToken).aud, REVIEWS_AUDIENCE, 'reviews: aud is reviews alone')
  t.equal(decodeJwt(detailsToken).sub, 'demo')
  const seen = [...details.authorizations, ...reviews.authorizations].join('\n')
  t.notOk(seen.includes(userToken), 'no service ever received the user\'s own access token')

  const crossed = await fetch(`${reviews.url}/api`, { headers: { authorization: `Bearer ${detailsToken}` } })
  t.equal(crossed.status, 401, 'the details token presented to reviews is refused')
  t.match(crossed.headers.get('www-authenticate'), /error="invalid_token"/)
  const back = await fetch(`${details.url}/api`, { headers: { authorization: `Bearer ${reviewsToken}` } })
  t.equal(back.status, 401, 'and the reviews token to details')

  const exchanges = setup.events.filter((e) => e.type.startsWith('token_exchange'))
  t.same(exchanges.map((e) => [e.type, e.downstream, e.sub]), [['token_exchange', details.url, 'demo'], ['token_exchange', reviews.url, 'demo']], 'one event per exchange')
  const logs = setup.logs.join('\n')
  for (const token of [userToken, detailsToken, reviewsToken]) t.notOk(logs.includes(token), 'no token in the app\'s logs')
})

t.test('forwardHeaders(url) hands out the exchanged token too; a public client exchanges without client authentication', async (t) => {
  const setup = await startExchange(t, { idp: { publicClient: true } })
  const headers = await setup.forwardHeaders(`${setup.reviews.url}/api`)
  t.equal(headers.status, 200)
  t.equal(decodeJwt(headers.body.authorization.replace(/^Bearer /, '')).aud, REVIEWS_AUDIENCE)
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 1)
})

t.test('the exchanged token is exchanged again once it is about to expire', async (t) => {
  // Exchanged tokens live 4 s, the leeway is 1 s: kept about 3 s.
  const setup = await startExchange(t, { ttl: 4, app: { refreshLeeway: 1 } })
  const { details, idp } = setup
  t.equal((await setup.call({ url: `${details.url}/api` })).body[0].status, 200)
  t.equal((await setup.call({ url: `${details.url}/api` })).body[0].status, 200)
  t.equal(idp.countGrants(TOKEN_EXCHANGE), 1, 'kept while valid')
  await new Promise((resolve) => setTimeout(resolve, 3500))
  t.equal((await setup.call({ url: `${details.url}/api` })).body[0].status, 200)
  t.equal(idp.countGrants(TOKEN_EXCHANGE), 2, 'exchanged again once within the leeway of its expiry')
  t.equal(new Set(details.authorizations).size, 2, 'details got the new token')
  t.equal(idp.countGrants('refresh_token'), 0, 'the user\'s own token was not refreshed')
})

t.test('an exchange by resource indicator; a token answered without expires_in is not kept', async (t) => {
  const api = await startDownstream(t)
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { tokenExchange: { audiences: { [DETAILS_AUDIENCE]: {} } } },
    beforeApp: async () => ({ downstreams: [{ origin: api.origin, exchange: { resource: DETAILS_AUDIENCE } }] })
  })
  t.equal((await setup.call({ url: `${api.origin}/a` })).body[0].status, 200)
  const first = String(api.requests[0]!.headers.authorization).replace(/^Bearer /, '')
  t.equal(decodeJwt(first).aud, DETAILS_AUDIENCE, 'resource= gave a token for that resource')

  // The IdP now answers without expires_in.
  let n = 0
  setup.idp.provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
    ctx.body = { access_token: `opaque-${++n}`, token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' }
  }, ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'])
  // The kept token is refused once, so a new one is asked for.
  api.script = (_request, index) => index === 1 ? { status: 401 } : undefined
  t.equal((await setup.call({ url: `${api.origin}/b` })).body[0].status, 200)
  t.equal(api.requests[2]!.headers.authorization, 'Bearer opaque-1', 'the retry carried the new token')
  t.equal((await setup.call({ url: `${api.origin}/c` })).body[0].status, 200)
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 3, 'the token without expiry was not kept, nor the refused one: exchanged again')
  t.equal(api.requests[3]!.headers.authorization, 'Bearer opaque-2')
})
