// Row 2: the naive peer — @fastify/session (its default MemoryStore) holding the
// token set and the user's claims in plain text, checked by hand in a preHandler.
import Fastify, { type FastifyRequest } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { ROUTE } from '../spec.js'
import { fastifyServer, LOGIN_ROUTE, required, type BuildServer, type SessionData } from './common.js'

/** The session's plain values (this row does not declare them on fastify's `Session` type, which fastify-oidc augments). */
interface PlainSession {
  get: (key: string) => unknown
  set: (key: string, value: unknown) => void
}
const plain = (request: FastifyRequest): PlainSession => request.session as unknown as PlainSession

export const build: BuildServer = async (spec) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: required(spec, 'sessionSecret'),
    cookieName: 'sessionId',
    saveUninitialized: false,
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: false, maxAge: 8 * 3600 * 1000 }
  })
  app.post(LOGIN_ROUTE, async (request) => {
    const { user, tokens } = request.body as SessionData
    plain(request).set('user', user)
    if (tokens !== undefined) plain(request).set('tokens', tokens)
    return { ok: true }
  })
  app.get(ROUTE, {
    preHandler: async (request, reply) => {
      if (plain(request).get('user') !== undefined) return
      reply.code(401).send({ error: 'Unauthorized' })
      return reply
    }
  }, async (request) => ({ sub: (plain(request).get('user') as SessionData['user']).sub }))
  return fastifyServer(app)
}
