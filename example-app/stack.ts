// The whole example on loopback: the embedded development IdP (unless
// OIDC_ISSUER names a real one), the `details` and `reviews` resource servers,
// and `productpage`, the relying party that calls them with the user's token.
// `npm start` runs it (example-app/start.ts); the tests start the same stack.
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildExampleApp } from './app.js'
import { startDevIdp, type DevIdp } from './dev-idp.js'
import { buildDetails, buildReviews } from './services.js'
import { openUsersTable } from './users.js'

/** The API audience the embedded IdP issues JWT access tokens for, and the services require. */
export const API_AUDIENCE = 'urn:bookinfo:api'
/** Scopes the services know; `reviews` requires `reviews:read`. */
export const API_SCOPES = 'details:read reviews:read'
/** With `EXAMPLE_TOKEN_EXCHANGE=true`: each service's own audience, for which productpage exchanges the user's token (RFC 8693). */
export const DETAILS_AUDIENCE = 'urn:bookinfo:details'
export const REVIEWS_AUDIENCE = 'urn:bookinfo:reviews'

export interface StackOptions {
  /** productpage's port. Default 3000. */
  port?: number
  detailsPort?: number
  reviewsPort?: number
  /** The embedded IdP's port. Default 4000. */
  idpPort?: number
  /** Where the OIDC_* settings are read from. Default `process.env`. */
  env?: Record<string, string | undefined>
  logger?: FastifyServerOptions['logger']
  /** Access-token lifetime of the embedded IdP, seconds. Default 300. */
  accessTokenTtl?: number
}

export interface Stack {
  /** productpage's public URL, e.g. http://localhost:3000 */
  url: string
  details: string
  reviews: string
  issuer: string
  /** The embedded IdP, when one was started. */
  idp?: DevIdp
  /** Token exchange per service is on (`EXAMPLE_TOKEN_EXCHANGE=true` with the embedded IdP). */
  tokenExchange: boolean
  /** DPoP is on: productpage's tokens are bound to a key of each session, the services require DPoP (`EXAMPLE_DPOP=true`, or `OIDC_DPOP=true` with a real IdP). */
  dpop: boolean
  apps: FastifyInstance[]
  close: () => Promise<void>
}

async function listen (app: FastifyInstance, port: number): Promise<string> {
  await app.listen({ port, host: '127.0.0.1' })
  const address = app.server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}`
}

export async function startStack (options: StackOptions = {}): Promise<Stack> {
  const env = options.env ?? process.env
  const port = options.port ?? 3000
  const url = env['OIDC_BASE_URL'] ?? `http://localhost:${port}`
  const logger = options.logger ?? false
  const apps: FastifyInstance[] = []
  let idp: DevIdp | undefined
  const close = async (): Promise<void> => {
    for (const app of apps.reverse()) await app.close()
    await idp?.close()
  }
  try {
    let issuer = env['OIDC_ISSUER']
    // DPoP: productpage's OIDC_DPOP is true / false; the services (same env) then require DPoP-bound tokens.
    const dpop = /^(1|true|yes)$/i.test(env[issuer === undefined ? 'EXAMPLE_DPOP' : 'OIDC_DPOP'] ?? '')
    const productpage: Record<string, unknown> = { baseUrl: url, env, authenticate: (await openUsersTable()).authenticate, ...(dpop ? { dpop: true } : {}) }
    const service: Record<string, unknown> = { env: { ...env, OIDC_DPOP: undefined }, ...(dpop ? { dpop: 'required' } : {}) }
    // Each service gets a token exchanged for it alone (embedded IdP only: with a real one, set OIDC_DOWNSTREAM_EXCHANGE).
    const exchange = issuer === undefined && /^(1|true|yes)$/i.test(env['EXAMPLE_TOKEN_EXCHANGE'] ?? '')
    if (issuer === undefined) {
      idp = await startDevIdp({
        port: options.idpPort ?? 4000,
        clients: [{
          client_id: 'productpage',
          client_secret: 'productpage-dev-secret',
          redirect_uris: [`${url}/auth/callback`],
          post_logout_redirect_uris: [`${url}/`],
          backchannel_logout_uri: `${url}/auth/backchannel-logout`,
          backchannel_logout_session_required: true
        }],
        accounts: { admin: { roles: ['user', 'admin'] } },
        // Authentication levels: ID tokens say how (acr) and when (auth_time) the user logged in (step-up).
        acrValues: ['urn:example:pwd', 'urn:example:mfa'],
        jwtAccessTokens: { audience: API_AUDIENCE, scope: API_SCOPES },
        accessTokenTtl: options.accessTokenTtl ?? 300,
        ...(exchange ? { tokenExchange: { audiences: { [DETAILS_AUDIENCE]: { scope: 'details:read' }, [REVIEWS_AUDIENCE]: { scope: 'reviews:read' } } } } : {})
      })
      issuer = idp.issuer
      // Development defaults only with the embedded IdP: against a real one, every OIDC_* setting comes from the env.
      Object.assign(productpage, {
        issuer,
        clientId: 'productpage',
        clientSecret: 'productpage-dev-secret',
        scope: `openid profile email ${API_SCOPES}`,
        sessionSecret: env['OIDC_SESSION_SECRET'] ?? 'example-app-dev-session-secret-change-me-0123456789'
      })
      Object.assign(service, { issuer, audience: API_AUDIENCE })
    }
    apps.push(await buildDetails(exchange ? { ...service, audience: DETAILS_AUDIENCE } : service, logger))
    const detailsUrl = await listen(apps.at(-1)!, options.detailsPort ?? 3001)
    apps.push(await buildReviews(exchange ? { ...service, audience: REVIEWS_AUDIENCE } : service, logger))
    const reviewsUrl = await listen(apps.at(-1)!, options.reviewsPort ?? 3002)
    if (exchange) {
      productpage['downstreams'] = [
        { origin: detailsUrl, exchange: { audience: DETAILS_AUDIENCE, scope: 'details:read' } },
        { origin: reviewsUrl, exchange: { audience: REVIEWS_AUDIENCE, scope: 'reviews:read' } }
      ]
    } else if (env['OIDC_DOWNSTREAMS'] === undefined && env['OIDC_DOWNSTREAM_EXCHANGE'] === undefined) {
      productpage['downstreams'] = [detailsUrl, reviewsUrl]
    }
    apps.push(await buildExampleApp(productpage, { detailsUrl, reviewsUrl }, logger))
    await listen(apps.at(-1)!, port)
    return { url, details: detailsUrl, reviews: reviewsUrl, issuer, ...(idp === undefined ? {} : { idp }), tokenExchange: exchange, dpop, apps, close }
  } catch (err) {
    await close()
    throw err
  }
}
