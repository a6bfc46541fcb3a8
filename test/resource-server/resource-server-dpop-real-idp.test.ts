// DPoP-bound tokens from the REAL oidc-provider (the dev IdP, DPoP on by
// default): the code is redeemed with a DPoP proof, so the IdP binds the access
// token to the client's key (cnf.jkt in the JWT, or in the introspection answer
// with token_type DPoP). The API accepts it with a proof of that key only.
import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import { codeLogin } from '../helpers/code-login.js'
import { freePort, startProvider, type TestProvider } from '../helpers/provider.js'
import { API_AUDIENCE, buildResourceServer } from '../helpers/resource-server.js'
import { dpopKey, proof, type DpopKey } from '../helpers/dpop.js'

interface Tokens { access_token: string, token_type: string }

/** Logs `demo` in at the IdP and redeems the code with a DPoP proof of `key` (no ath: no token yet). */
async function dpopLogin (idp: TestProvider, appBaseUrl: string, key: DpopKey): Promise<Tokens> {
  return await codeLogin<Tokens>(idp, appBaseUrl, {
    params: { nonce: 'n-0123456789' },
    tokenHeaders: async (tokenEndpoint) => ({ dpop: await proof(key, 'POST', tokenEndpoint, '', { claims: { ath: undefined } }) })
  })
}

async function idpWith (t: Test, format: 'jwt' | 'opaque', key: DpopKey): Promise<{ idp: TestProvider, tokens: Tokens }> {
  const appBaseUrl = `http://127.0.0.1:${await freePort()}`
  const idp = await startProvider(t, { appBaseUrl, jwtAccessTokens: { audience: API_AUDIENCE, scope: 'api:read', format } })
  return { idp, tokens: await dpopLogin(idp, appBaseUrl, key) }
}

for (const format of ['jwt', 'opaque'] as const) {
  t.test(`a DPoP-bound ${format} access token of the real IdP: with a proof of its key only`, async (t) => {
    const key = await dpopKey()
    const { idp, tokens } = await idpWith(t, format, key)
    t.equal(tokens.token_type, 'DPoP', 'the IdP bound the token')
    if (format === 'jwt') t.same(decodeJwt(tokens.access_token)['cnf'], { jkt: key.jkt })
    const api = await buildResourceServer(t, {
      issuer: idp.issuer,
      audience: API_AUDIENCE,
      ...(format === 'opaque' ? { introspect: true, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret! } : {})
    })
    const url = `${api.url}/api`
    const token = tokens.access_token
    const ok = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', url, token) } })
    t.equal(ok.status, 200)
    t.match(await ok.json(), { authenticated: true, via: 'bearer', user: { cnf: { jkt: key.jkt } } })

    const asBearer = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    t.equal(asBearer.status, 401)
    t.match(asBearer.headers.get('www-authenticate'), /^DPoP realm="https:\/\/api\.example\.test", error="invalid_token", /)
    const thief = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proof(await dpopKey(), 'GET', url, token) } })
    t.equal(thief.status, 401)
    t.match(await thief.json(), { code: 'FST_OIDC_DPOP_PROOF_INVALID' })
  })
}
