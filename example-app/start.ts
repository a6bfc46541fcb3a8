// `npm start`: the whole example on loopback — productpage on
// http://localhost:3000, `details` and `reviews` on 3001 and 3002, and, unless
// OIDC_ISSUER names a real IdP, the embedded development IdP on 4000.
// Ctrl-C stops everything.
import { startStack } from './stack.js'

const stack = await startStack({
  port: Number(process.env['PORT'] ?? 3000),
  detailsPort: Number(process.env['DETAILS_PORT'] ?? 3001),
  reviewsPort: Number(process.env['REVIEWS_PORT'] ?? 3002),
  idpPort: Number(process.env['IDP_PORT'] ?? 4000),
  logger: { level: process.env['LOG_LEVEL'] ?? 'warn' }
})

console.log(`
productpage  ${stack.url}/        <- open this
details      ${stack.details}   (resource server)
reviews      ${stack.reviews}   (resource server, needs scope reviews:read)
identity     ${stack.issuer}${stack.idp === undefined ? '' : '   (embedded development IdP)'}
`)
if (stack.idp !== undefined) console.log('Log in as "demo" with any password ("admin" also has the admin role).\n')
if (stack.tokenExchange) console.log('Token exchange per service is on: details and reviews each receive a token for their own audience only.\n')
else if (stack.idp !== undefined) console.log('EXAMPLE_TOKEN_EXCHANGE=true npm start: each service receives a token exchanged for it alone (RFC 8693).\n')
if (stack.dpop) console.log('DPoP is on: the tokens are bound to a key of each session; details and reviews accept them only with a fresh proof of it.\n')
else if (stack.idp !== undefined) console.log('EXAMPLE_DPOP=true npm start: tokens bound to a key of each session, useless when stolen (RFC 9449 DPoP).\n')
console.log('Ctrl-C stops everything.')

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1)
    stopping = true
    stack.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  })
}
