// `npm start`: the example app on http://localhost:3000. Without OIDC_ISSUER it
// starts the embedded development identity provider (any login name, e.g. "demo").
import { buildExampleApp } from './app.js'
import { startDevIdp } from './dev-idp.js'

const port = Number(process.env['PORT'] ?? 3000)
const baseUrl = process.env['OIDC_BASE_URL'] ?? `http://localhost:${port}`
const options: Record<string, string> = {}

if (process.env['OIDC_ISSUER'] === undefined) {
  const clientId = 'productpage'
  const clientSecret = 'productpage-dev-secret'
  const idp = await startDevIdp({
    port: Number(process.env['IDP_PORT'] ?? 4000),
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [`${baseUrl}/auth/callback`], post_logout_redirect_uris: [`${baseUrl}/`] }],
    accounts: { admin: { roles: ['user', 'admin'] } }
  })
  // Development defaults only with the embedded IdP: against a real one, OIDC_SESSION_SECRET is required.
  Object.assign(options, { issuer: idp.issuer, clientId, clientSecret, sessionSecret: process.env['OIDC_SESSION_SECRET'] ?? 'example-app-dev-session-secret-change-me-0123456789' })
  console.log(`Embedded development identity provider: ${idp.issuer}`)
}

const app = await buildExampleApp({
  ...options,
  baseUrl
}, { level: process.env['LOG_LEVEL'] ?? 'warn' })

await app.listen({ port, host: process.env['HOST'] ?? 'localhost' })
console.log(`\nproductpage is running: open ${baseUrl}/`)
if (options['issuer'] !== undefined) console.log('Log in as "demo" (any password; "admin" has the admin role).\n')
