// The dev IdP's DPoP settings on their own: on by default (the metadata lists
// its algorithms), off with `dpop: false`; its token-exchange grant checks the
// request's DPoP proof as oidc-provider checks its own grants' (a bad one is
// invalid_dpop_proof, nothing issued).
import t from 'tap'
import { freePort, startProvider, type TestProvider } from './helpers/provider.js'
import { dpopKey, proof } from './helpers/dpop.js'

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

async function metadata (idp: TestProvider): Promise<Record<string, unknown>> {
  return await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>
}

t.test('DPoP: on by default, off with dpop: false', async (t) => {
  const appBaseUrl = `http://127.0.0.1:${await freePort()}`
  const on = await startProvider(t, { appBaseUrl })
  t.match((await metadata(on))['dpop_signing_alg_values_supported'], ['ES256'])
  const off = await startProvider(t, { appBaseUrl, dpop: false })
  t.notOk('dpop_signing_alg_values_supported' in await metadata(off), 'no DPoP algorithm listed')
})

t.test('the token-exchange grant refuses a bad DPoP proof', async (t) => {
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${await freePort()}`, tokenExchange: { audiences: { 'urn:x': {} } } })
  const tokenEndpoint = `${idp.issuer}/token`
  const exchange = async (dpop: string): Promise<{ status: number, body: Record<string, unknown> }> => {
    const res = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${idp.client.clientId}:${idp.client.clientSecret!}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        dpop
      },
      body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', audience: 'urn:x' })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  const key = await dpopKey()
  for (const [name, dpop] of [
    ['not a JWT', 'not-a-jwt'],
    ['for another URL', await proof(key, 'POST', `${idp.issuer}/other`, '', { claims: { ath: undefined } })],
    ['for another method', await proof(key, 'GET', tokenEndpoint, '', { claims: { ath: undefined } })]
  ] as const) {
    const res = await exchange(dpop)
    t.equal(res.status, 400, name)
    t.equal(res.body['error'], 'invalid_dpop_proof', name)
  }
  t.same(idp.log.filter((e) => e.grantType === TOKEN_EXCHANGE).map((e) => e.status), [400, 400, 400], 'nothing issued')
})
