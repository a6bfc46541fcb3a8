// EXAMPLE_DPOP=true (with EXAMPLE_TOKEN_EXCHANGE=true too): productpage's tokens are
// bound to a key of the session (DPoP, RFC 9449); details and reviews require
// DPoP and get their own exchanged, bound tokens; each token alone is refused.
import t from 'tap'
import { decodeJwt } from 'jose'
import { startStack } from '../../example-app/stack.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { recordIssuedTokens } from '../helpers/issued-tokens.js'
import { freePort } from '../helpers/provider.js'

for (const exchange of [false, true]) {
  t.test(`the product page with DPoP${exchange ? ' and token exchange per service' : ''}`, async (t) => {
    const env = { EXAMPLE_DPOP: 'true', ...(exchange ? { EXAMPLE_TOKEN_EXCHANGE: 'true' } : {}) }
    const s = await startStack({ port: await freePort(), detailsPort: 0, reviewsPort: 0, idpPort: 0, env })
    t.teardown(() => s.close())
    t.equal(s.dpop, true)
    const issued = recordIssuedTokens({ provider: s.idp!.provider } as Parameters<typeof recordIssuedTokens>[0])
    const product = await loginAtProvider(new Browser(), `${s.url}/auth/login?returnTo=%2Fproduct%2F0`)
    t.equal(product.status, 200)
    t.match(product.body, /<dt>author<\/dt><dd>William Shakespeare<\/dd>/, 'details answered')
    t.match(product.body, /An extremely entertaining play by Shakespeare/, 'reviews answered')
    t.ok(s.idp!.log.filter((e) => e.grantType !== undefined).every((e) => e.dpop === true), 'every token request carried a proof')
    t.equal(issued.length, exchange ? 3 : 1)
    for (const { accessToken } of issued) {
      t.type((decodeJwt(accessToken)['cnf'] as { jkt?: string } | undefined)?.jkt, 'string', 'bound to the session\'s key')
      for (const service of [s.details, s.reviews]) {
        const res = await fetch(`${service}/${service === s.details ? 'details' : 'reviews'}/0`, { headers: { authorization: `Bearer ${accessToken}` } })
        t.equal(res.status, 401, 'the token alone is refused')
      }
    }
  })
}
