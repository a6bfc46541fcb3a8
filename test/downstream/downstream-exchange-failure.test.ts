// Token exchange per downstream when the IdP says no or fails: the same coded
// answers as a failed refresh (401 invalid_grant, 502, 504), a
// token_exchange_failure event, and the downstream never receives anything — in
// particular not the user's own access token. A downstream's 401 to an exchanged
// token makes one new exchange and one retry.
import t, { type Test } from 'tap'
import type { KoaContextWithOIDC } from 'oidc-provider'
import { decodeJwt } from 'jose'
import { startDownstream, startForwarding } from '../helpers/downstream.js'
import { DETAILS_AUDIENCE, TOKEN_EXCHANGE, startExchange, type ExchangeSetup } from '../helpers/exchange.js'

const PARAMS = ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope']

/** Replaces the IdP's exchange grant with `handler`. */
function failExchange (setup: ExchangeSetup, handler: (ctx: KoaContextWithOIDC) => Promise<void>): void {
  setup.idp.provider.registerGrantType(TOKEN_EXCHANGE, handler, PARAMS)
}

/** The call answered with `status` and `code`; details received nothing; the failure event says `reason`; no token logged. */
async function expectFailure (t: Test, setup: ExchangeSetup, status: number, code: string, reason: string): Promise<void> {
  const res = await setup.call({ url: `${setup.details.url}/api` })
  t.equal(res.status, status, `answered ${status}`)
  t.equal(res.body.code, code)
  t.same(setup.details.authorizations, [], 'details received no request at all (never the user\'s own token)')
  const failures = setup.events.filter((e) => e.type === 'token_exchange_failure')
  t.same(failures.map((e) => [e.reason, e.downstream, e.sub]), [[reason, setup.details.url, 'demo']], 'one token_exchange_failure event')
  t.notOk(setup.logs.join('\n').includes(setup.issued[0]!.accessToken), 'the user\'s token is not in the logs')
  t.equal(JSON.parse((await setup.browser.get(`${setup.baseUrl}/public`)).body).authenticated, true, 'the session is kept')
}

t.test('the IdP refuses the subject token (revoked): 401 FST_OIDC_INVALID_GRANT', async (t) => {
  const setup = await startExchange(t)
  const token = await setup.idp.provider.AccessToken.find(setup.issued[0]!.accessToken)
  await token!.destroy()
  await expectFailure(t, setup, 401, 'FST_OIDC_INVALID_GRANT', 'invalid_grant')
})

t.test('the IdP refuses the exchange otherwise (unknown audience): 401 FST_OIDC_IDP_ERROR', async (t) => {
  const setup = await startExchange(t)
  failExchange(setup, async () => { throw new (await import('oidc-provider')).errors.InvalidTarget('no') })
  await expectFailure(t, setup, 401, 'FST_OIDC_IDP_ERROR', 'token_exchange_error')
})

t.test('the IdP refuses the client with a challenge (401 WWW-Authenticate): 401 FST_OIDC_IDP_ERROR', async (t) => {
  const setup = await startExchange(t)
  failExchange(setup, async (ctx) => {
    ctx.status = 401
    ctx.set('www-authenticate', 'Basic realm="idp", error="invalid_client"')
    ctx.body = { error: 'invalid_client' }
  })
  await expectFailure(t, setup, 401, 'FST_OIDC_IDP_ERROR', 'token_exchange_error')
})

t.test('the IdP answers 503 with a JSON error: 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const setup = await startExchange(t)
  failExchange(setup, async (ctx) => {
    ctx.status = 503
    ctx.body = { error: 'temporarily_unavailable' }
  })
  await expectFailure(t, setup, 502, 'FST_OIDC_IDP_BAD_RESPONSE', 'token_exchange_error')
})

t.test('the IdP answers 500 with an HTML page: 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const setup = await startExchange(t)
  failExchange(setup, async (ctx) => {
    ctx.status = 500
    ctx.type = 'html'
    ctx.body = '<h1>Internal Server Error</h1>'
  })
  await expectFailure(t, setup, 502, 'FST_OIDC_IDP_BAD_RESPONSE', 'token_exchange_error')
})

t.test('the IdP answers 200 without a bearer access token: 502 FST_OIDC_IDP_BAD_RESPONSE', async (t) => {
  const setup = await startExchange(t)
  failExchange(setup, async (ctx) => {
    ctx.body = { access_token: 'x', token_type: 'N_A', issued_token_type: 'urn:ietf:params:oauth:token-type:jwt' }
  })
  await expectFailure(t, setup, 502, 'FST_OIDC_IDP_BAD_RESPONSE', 'token_exchange_error')
})

t.test('the IdP does not answer in time: 504 FST_OIDC_IDP_TIMEOUT', async (t) => {
  const setup = await startExchange(t, { app: { httpTimeout: 300 } })
  failExchange(setup, async (ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 1500))
    ctx.status = 500
  })
  await expectFailure(t, setup, 504, 'FST_OIDC_IDP_TIMEOUT', 'idp_timeout')
})

t.test('a downstream\'s 401 to the exchanged token: one new exchange, one retry with the new token', async (t) => {
  const api = await startDownstream(t, (_request, index) => index === 0 ? { status: 401 } : undefined)
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { tokenExchange: { audiences: { [DETAILS_AUDIENCE]: {} } } },
    beforeApp: async () => ({ downstreams: [{ origin: api.origin, exchange: { audience: DETAILS_AUDIENCE } }] })
  })
  const res = await setup.call({ url: `${api.origin}/x` })
  t.equal(res.body[0].status, 200, 'the retry succeeded')
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 2, 'exchanged again after the 401')
  const [first, second] = api.requests.map((r) => String(r.headers.authorization).replace(/^Bearer /, ''))
  t.not(first, second, 'the retry carried the new token')
  t.equal(decodeJwt(second!).aud, DETAILS_AUDIENCE)
  t.equal(setup.idp.countGrants('refresh_token'), 0, 'the user\'s own token was not refreshed')

  const later = await setup.call({ url: `${api.origin}/y` })
  t.equal(later.body[0].status, 200)
  t.equal(String(api.requests[2]!.headers.authorization).replace(/^Bearer /, ''), second, 'the new token is the one kept')
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 2)
})

t.test('a downstream refusing every exchanged token: FST_OIDC_DOWNSTREAM_UNAUTHORIZED after one retry', async (t) => {
  const api = await startDownstream(t, () => ({ status: 401 }))
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { tokenExchange: { audiences: { [DETAILS_AUDIENCE]: {} } } },
    beforeApp: async () => ({ downstreams: [{ origin: api.origin, exchange: { audience: DETAILS_AUDIENCE } }] })
  })
  const res = await setup.call({ url: `${api.origin}/x` })
  t.equal(res.status, 401)
  t.equal(res.body.code, 'FST_OIDC_DOWNSTREAM_UNAUTHORIZED')
  t.equal(api.requests.length, 2, 'sent twice')
  t.notOk(api.seen().includes(setup.issued[0]!.accessToken), 'never the user\'s own token')
})
