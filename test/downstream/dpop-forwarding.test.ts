// DPoP in the relying party (RFC 9449), end to end: OIDC_DPOP=true against the
// real dev IdP (DPoP on), the app's token request carries a proof of the
// session's own key, the IdP binds the access token to it (cnf.jkt), and
// request.oidc.fetch sends it to an oidcResourceServer API as `DPoP` with a
// fresh proof per request. What a thief holds — the token, even with a proof it
// saw — is refused by that API.
import t from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { startForwarding } from '../helpers/downstream.js'
import { dpopKey, proof } from '../helpers/dpop.js'
import { API_AUDIENCE, buildResourceServer, viewOf } from '../helpers/resource-server.js'
import type { Teardownable } from '../helpers/provider.js'

interface Seen { authorization: string | undefined, dpop: string | undefined }

/** An API for API_AUDIENCE (DPoP allowed) recording what each request carried. */
async function startApi (t: Teardownable, issuer: string): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const api = await buildResourceServer(t, {
    issuer,
    audience: API_AUDIENCE,
    routes: (app) => {
      app.get('/api', { preHandler: app.requireBearer() }, async (request) => viewOf(request.oidc))
      app.post('/api', { preHandler: app.requireBearer() }, async (request) => viewOf(request.oidc))
      app.get('/other', { preHandler: app.requireBearer() }, async (request) => viewOf(request.oidc))
    },
    before: (app) => {
      app.addHook('onRequest', async (request) => {
        seen.push({ authorization: request.headers.authorization, dpop: request.headers.dpop as string | undefined })
      })
    }
  })
  return { url: api.url, seen }
}

t.test('OIDC_DPOP=true: the tokens are bound to the session\'s key and go downstream as DPoP with a fresh proof', async (t) => {
  let api: { url: string, seen: Seen[] } | undefined
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { jwtAccessTokens: { audience: API_AUDIENCE, scope: 'api:read' } },
    app: { dpop: true, scope: 'openid profile api:read' },
    beforeApp: async (idp) => {
      api = await startApi(t, idp.issuer)
      return { downstreams: [api.url] }
    }
  })
  const { idp } = setup
  const tokenRequests = idp.log.filter((e) => e.grantType === 'authorization_code')
  t.same(tokenRequests.map((e) => [e.status, e.dpop]), [[200, true]], 'the code was redeemed once, with a DPoP proof')
  const token = setup.issued[0]!.accessToken
  const jkt = (decodeJwt(token)['cnf'] as { jkt?: string } | undefined)?.jkt
  t.type(jkt, 'string', 'the IdP bound the access token to a key (cnf.jkt)')

  const calls = await setup.call({ url: `${api!.url}/api`, parallel: 2 })
  t.same(calls.body.map((r: { status: number }) => r.status), [200, 200], 'the API accepted both calls')
  t.match(JSON.parse(calls.body[0].body), { authenticated: true, user: { sub: 'demo', cnf: { jkt } } })
  t.equal(api!.seen.length, 2)
  for (const seen of api!.seen) t.equal(seen.authorization, `DPoP ${token}`, 'the token went with the DPoP scheme')
  const [first, second] = api!.seen.map((s) => s.dpop!)
  t.not(first, second, 'each request had its own proof')
  const header = decodeProtectedHeader(first!)
  t.equal(header.typ, 'dpop+jwt')
  t.equal(header.alg, 'ES256', 'an ES256 key, the IdP listing it')
  t.notOk('d' in (header.jwk as object), 'the proof carries the public key only')
  t.match(decodeJwt(first!), { htm: 'GET', htu: `${api!.url}/api`, ath: String })

  // A thief with the token (from a log, a proxy, the downstream itself):
  const url = `${api!.url}/api`
  const asBearer = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  t.equal(asBearer.status, 401, 'the token alone, as Bearer: refused')
  const ownKey = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proof(await dpopKey(), 'GET', url, token) } })
  t.equal(ownKey.status, 401, 'with a proof of another key: refused')
  t.match(await ownKey.json(), { code: 'FST_OIDC_DPOP_PROOF_INVALID' })
  const replayed = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: first! } })
  t.equal(replayed.status, 401, 'with a proof the app already sent (same jti): refused')
  const otherMethod = await fetch(url, { method: 'POST', headers: { authorization: `DPoP ${token}`, dpop: second! } })
  t.equal(otherMethod.status, 401, 'with an unused proof the app made for another method: refused')
  const otherUrl = await fetch(`${api!.url}/other`, { headers: { authorization: `DPoP ${token}`, dpop: second! } })
  t.equal(otherUrl.status, 401, 'nor for another URL')
  t.match(await otherUrl.json(), { code: 'FST_OIDC_DPOP_PROOF_INVALID' })

  const logs = setup.logs.join('\n')
  t.notOk(logs.includes(token), 'no token in the app\'s logs')
  t.notOk(/"d":"/.test(logs), 'no private key in the app\'s logs')
})
