// The two downstream microservices of the example: `details` and `reviews`.
// Each is a resource server: it verifies the bearer token the product page
// forwards (oidcResourceServer) and answers RFC 6750 errors, 401 when it is bad.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { oidcResourceServer, type OidcResourceServerOptions } from '../lib/index.js'

export interface Product {
  id: string
  title: string
  author: string
  year: number
  pages: number
  publisher: string
  isbn: string
}

const PRODUCTS: Record<string, Product> = {
  0: { id: '0', title: 'The Comedy of Errors', author: 'William Shakespeare', year: 1595, pages: 200, publisher: 'PublisherA', isbn: '978-0-14-071488-4' }
}

const REVIEWS: Record<string, Array<{ reviewer: string, rating: number, text: string }>> = {
  0: [
    { reviewer: 'Reviewer1', rating: 5, text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
    { reviewer: 'Reviewer2', rating: 4, text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' }
  ]
}

/** `details`: GET /details/:id, any valid token for the API's audience. */
export async function buildDetails (options: OidcResourceServerOptions, logger: FastifyServerOptions['logger'] = false): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  await app.register(oidcResourceServer, options)
  app.get<{ Params: { id: string } }>('/details/:id', { preHandler: app.requireBearer() }, async (request, reply) => {
    const product = PRODUCTS[request.params.id]
    if (product === undefined) return await reply.code(404).send({ error: 'no such product' })
    return { ...product, requestedBy: request.oidc.user?.sub }
  })
  return app
}

/** `reviews`: GET /reviews/:id, tokens granted the `reviews:read` scope only. */
export async function buildReviews (options: OidcResourceServerOptions, logger: FastifyServerOptions['logger'] = false): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  await app.register(oidcResourceServer, options)
  app.get<{ Params: { id: string } }>('/reviews/:id', { preHandler: app.requireBearer({ scopes: ['reviews:read'] }) }, async (request) => {
    return { id: request.params.id, reviews: REVIEWS[request.params.id] ?? [], requestedBy: request.oidc.user?.sub }
  })
  return app
}
