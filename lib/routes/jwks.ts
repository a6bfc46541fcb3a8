import type { FastifyInstance } from 'fastify'
import type { JWK } from 'jose'
import type { Runtime } from '../runtime.js'

/**
 * `GET /auth/jwks`: the public keys of the `private_key_jwt` clients (RFC 7517
 * JWK set), for IdPs that fetch a client's keys from a `jwks_uri`. Only the
 * public members of each key, with its `kid` and `use: 'sig'`. Not registered
 * (404) when no provider has a key.
 */
export function jwksRoute (fastify: FastifyInstance, { config }: Runtime): void {
  const keys = new Map<string, JWK>()
  for (const provider of config.providers) {
    const jwk = provider.clientKey?.publicJwk
    if (jwk !== undefined) keys.set(JSON.stringify(jwk), jwk)
  }
  if (keys.size === 0) return
  const body = JSON.stringify({ keys: [...keys.values()] })
  fastify.get('/jwks', async (_request, reply) => {
    // Public by nature; short-lived so that a rotated key is picked up soon.
    return await reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(body)
  })
}
