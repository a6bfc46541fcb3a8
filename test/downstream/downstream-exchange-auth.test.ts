// The token exchange authenticates the client as its other token requests do:
// here private_key_jwt (a fresh signed assertion, no secret), with the
// downstream declared through OIDC_DOWNSTREAM_EXCHANGE alone. A caller without a
// session (a bearer token) gets no exchange and never forwards its own token there.
import t from 'tap'
import { decodeJwt, exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { startForwarding } from '../helpers/downstream.js'
import { DETAILS_AUDIENCE, TOKEN_EXCHANGE, startService } from '../helpers/exchange.js'

t.test('private_key_jwt: the exchange carries a client assertion; the env var alone declares the downstream', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const pem = await exportPKCS8(privateKey)
  const publicJwk = { ...await exportJWK(publicKey), kid: 'app-key-1', use: 'sig' }
  let details: Awaited<ReturnType<typeof startService>> | undefined
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: (base) => ({
      tokenExchange: { audiences: { [DETAILS_AUDIENCE]: { scope: 'details:read' } } },
      extraClients: [{
        client_id: 'pkjwt-app',
        redirect_uris: [`${base}/auth/callback`],
        post_logout_redirect_uris: [`${base}/`],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk as never] }
      }]
    }),
    beforeApp: async (idp) => {
      details = await startService(t, idp.issuer, DETAILS_AUDIENCE)
      return {
        clientId: undefined,
        clientSecret: undefined,
        downstreams: undefined,
        env: {
          OIDC_CLIENT_ID: 'pkjwt-app',
          OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt',
          OIDC_CLIENT_PRIVATE_KEY: pem,
          OIDC_CLIENT_KEY_ID: 'app-key-1',
          OIDC_DOWNSTREAM_EXCHANGE: `${details.url}=${DETAILS_AUDIENCE}`
        }
      }
    }
  })
  const res = await setup.call({ url: `${details!.url}/api` })
  t.equal(res.body[0].status, 200, 'details answered')
  const token = details!.authorizations[0]!.replace(/^Bearer /, '')
  t.equal(decodeJwt(token).aud, DETAILS_AUDIENCE)
  t.equal(decodeJwt(token).client_id, 'pkjwt-app')
  const exchanges = setup.idp.log.filter((e) => e.grantType === TOKEN_EXCHANGE)
  t.same(exchanges.map((e) => [e.status, e.clientAssertion]), [[200, true]], 'one exchange, authenticated with a client assertion')
  t.notOk(setup.logs.some((line) => line.includes('PRIVATE KEY')), 'no key material in the logs')
})

t.test('a bearer caller cannot reach an exchange origin: FST_OIDC_DOWNSTREAM_ORIGIN_DENIED, nothing sent', async (t) => {
  let details: Awaited<ReturnType<typeof startService>> | undefined
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { tokenExchange: { audiences: { [DETAILS_AUDIENCE]: {} } }, jwtAccessTokens: { audience: 'https://app.test' } },
    beforeApp: async (idp) => {
      details = await startService(t, idp.issuer, DETAILS_AUDIENCE)
      return {
        downstreams: [{ origin: details.url, exchange: { audience: DETAILS_AUDIENCE } }],
        resourceServer: { audience: 'https://app.test' },
        routes: (app) => {
          app.get('/bearer-call', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async (request) => await request.oidc.fetch(`${details!.url}/api`))
        }
      }
    }
  })
  // The logged-in user's own RFC 9068 access token, presented as a bearer token.
  const accessToken = setup.issued[0]!.accessToken
  const res = await fetch(`${setup.baseUrl}/bearer-call`, { headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(res.status, 500)
  t.equal((await res.json() as { code: string }).code, 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED')
  t.same(details!.authorizations, [], 'details received nothing')
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 0, 'no exchange')
})

t.test('a session store without locks: one exchange per session and downstream in this process, kept in the session', async (t) => {
  const sessions = new Map<string, unknown>()
  const bareStore = {
    get: (id: string, cb: (err: unknown, s?: unknown) => void) => cb(null, sessions.get(id) ?? null),
    set: (id: string, s: unknown, cb: (err?: unknown) => void) => { sessions.set(id, JSON.parse(JSON.stringify(s))); cb() },
    destroy: (id: string, cb: (err?: unknown) => void) => { sessions.delete(id); cb() }
  }
  let details: Awaited<ReturnType<typeof startService>> | undefined
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { tokenExchange: { audiences: { [DETAILS_AUDIENCE]: {} } } },
    app: { sessionStore: bareStore as never },
    beforeApp: async (idp) => {
      details = await startService(t, idp.issuer, DETAILS_AUDIENCE)
      return { downstreams: [{ origin: details.url, exchange: { audience: DETAILS_AUDIENCE } }] }
    }
  })
  const res = await setup.call({ url: `${details!.url}/api`, parallel: 3 })
  t.same(res.body.map((r: { status: number }) => r.status), [200, 200, 200])
  t.equal((await setup.call({ url: `${details!.url}/api` })).body[0].status, 200)
  t.equal(setup.idp.countGrants(TOKEN_EXCHANGE), 1, 'one exchange')
  t.equal(new Set(details!.authorizations).size, 1)
})
