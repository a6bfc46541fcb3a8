// EXAMPLE_TOKEN_EXCHANGE=true: the example's product page is built from details and
// reviews, each called with a token the embedded IdP exchanged for that service
// alone (its own audience and scope); the user's own API token is refused by both.
import t from 'tap'
import { decodeJwt } from 'jose'
import { DETAILS_AUDIENCE, REVIEWS_AUDIENCE, startStack } from '../../example-app/stack.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { recordIssuedTokens } from '../helpers/issued-tokens.js'
import { freePort } from '../helpers/provider.js'

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

t.test('the product page with token exchange per service', async (t) => {
  const s = await startStack({ port: await freePort(), detailsPort: 0, reviewsPort: 0, idpPort: 0, env: { EXAMPLE_TOKEN_EXCHANGE: 'true' } })
  t.teardown(() => s.close())
  t.equal(s.tokenExchange, true)
  const issued = recordIssuedTokens({ provider: s.idp!.provider } as Parameters<typeof recordIssuedTokens>[0])
  const browser = new Browser()
  const product = await loginAtProvider(browser, `${s.url}/auth/login?returnTo=%2Fproduct%2F0`)
  t.equal(product.status, 200)
  t.match(product.body, /<dt>author<\/dt><dd>William Shakespeare<\/dd>/, 'details answered')
  t.match(product.body, /An extremely entertaining play by Shakespeare/, 'reviews answered')
  t.equal(s.idp!.countGrants(TOKEN_EXCHANGE), 2, 'one exchange per service')
  t.equal((await browser.get(`${s.url}/product/0`, { accept: 'text/html' })).status, 200)
  t.equal(s.idp!.countGrants(TOKEN_EXCHANGE), 2, 'kept in the session')

  const [login, ...exchanged] = issued
  t.same(exchanged.map((e) => [e.grantType, decodeJwt(e.accessToken).aud]).sort(), [[TOKEN_EXCHANGE, DETAILS_AUDIENCE], [TOKEN_EXCHANGE, REVIEWS_AUDIENCE]])
  const userToken = await fetch(`${s.details}/details/0`, { headers: { authorization: `Bearer ${login!.accessToken}` } })
  t.equal(userToken.status, 401, 'details refuses the user\'s own API token')
  const reviewsToken = exchanged.find((e) => decodeJwt(e.accessToken).aud === REVIEWS_AUDIENCE)!.accessToken
  t.equal((await fetch(`${s.details}/details/0`, { headers: { authorization: `Bearer ${reviewsToken}` } })).status, 401, 'details refuses the reviews token')
})
