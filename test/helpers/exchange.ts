// Token exchange per downstream (RFC 8693): the dev IdP with its exchange grant,
// two resource servers (details, reviews) protected by oidcResourceServer that
// record every authorization header they receive, and the app forwarding to them.
import type { FastifyInstance } from 'fastify'
import { startForwarding, type ForwardingOptions, type ForwardingSetup } from './downstream.js'
import { buildResourceServer, type ResourceServerApp } from './resource-server.js'
import type { Teardownable } from './provider.js'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const DETAILS_AUDIENCE = 'https://details.test'
export const REVIEWS_AUDIENCE = 'https://reviews.test'

export interface RecordingService extends ResourceServerApp {
  /** The `authorization` header of every request received, in order. */
  authorizations: Array<string | undefined>
}

/** An API protected by oidcResourceServer for `audience`, recording the authorization headers it receives. */
export async function startService (t: Teardownable, issuer: string, audience: string): Promise<RecordingService> {
  const authorizations: Array<string | undefined> = []
  const service = await buildResourceServer(t, {
    issuer,
    audience,
    before: (app: FastifyInstance) => {
      app.addHook('onRequest', async (request) => { authorizations.push(request.headers.authorization) })
    }
  })
  return { ...service, authorizations }
}

export interface ExchangeSetup extends ForwardingSetup {
  details: RecordingService
  reviews: RecordingService
}

/**
 * The dev IdP (exchanges for details and reviews, `ttl` seconds), both services, and
 * the app with details and reviews declared with an exchange; the browser logged in.
 */
export async function startExchange (t: Teardownable, options: { ttl?: number, app?: ForwardingOptions['app'], idp?: ForwardingOptions['idp'] } = {}): Promise<ExchangeSetup> {
  const tokenExchange = {
    audiences: { [DETAILS_AUDIENCE]: { scope: 'details:read' }, [REVIEWS_AUDIENCE]: { scope: 'reviews:read' } },
    ...(options.ttl === undefined ? {} : { ttl: options.ttl })
  }
  const services: { details?: RecordingService, reviews?: RecordingService } = {}
  const setup = await startForwarding(t, {
    downstreams: [],
    idp: { ...options.idp, tokenExchange },
    ...(options.app === undefined ? {} : { app: options.app }),
    beforeApp: async (idp) => {
      const details = services.details = await startService(t, idp.issuer, DETAILS_AUDIENCE)
      const reviews = services.reviews = await startService(t, idp.issuer, REVIEWS_AUDIENCE)
      return {
        downstreams: [
          { origin: details.url, exchange: { audience: DETAILS_AUDIENCE, scope: 'details:read' } },
          { origin: reviews.url, exchange: { audience: REVIEWS_AUDIENCE } }
        ]
      }
    }
  })
  return { ...setup, details: services.details!, reviews: services.reviews! }
}
