// Row 6: @fastify/secure-session (the whole session sealed with libsodium in the
// cookie) holding the same token set and claims as row 2, checked by hand.
// Plain JS on purpose: its types declare `request.session` differently from
// @fastify/session's, which fastify-oidc (and so the TypeScript project) uses.
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import fastifySecureSession from '@fastify/secure-session'
import { ROUTE } from '../spec.js'
import { fastifyServer, LOGIN_ROUTE } from './common.js'

/** @type {import('./common.js').BuildServer} */
export const build = async () => {
  const app = Fastify({ logger: false })
  await app.register(fastifySecureSession, {
    key: randomBytes(32),
    cookieName: 'session',
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: false, maxAge: 8 * 3600 }
  })
  app.post(LOGIN_ROUTE, async (request) => {
    const { user, tokens } = request.body
    request.session.set('user', user)
    if (tokens !== undefined) request.session.set('tokens', tokens)
    return { ok: true }
  })
  app.get(ROUTE, {
    preHandler: async (request, reply) => {
      if (request.session.get('user') !== undefined) return
      reply.code(401).send({ error: 'Unauthorized' })
      return reply
    }
  }, async (request) => ({ sub: request.session.get('user').sub }))
  return fastifyServer(app)
}
