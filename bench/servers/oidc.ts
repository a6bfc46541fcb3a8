// Rows 3, 4 and 4c: fastify-oidc's requireAuth on a session made by a real login
// through the dev IdP; row 3 with the memory store, rows 4 and 4c with a Redis
// store URL. The store is the one the plugin opens for that setting, counting
// its writes (bench/servers/counting-store.ts). Rows 11, 11v, 11d and 12 call a local
// downstream from the guarded route (`request.oidc.fetch()` or a plain fetch);
// row 11d with `dpop: true` (its tokens DPoP-bound, each call with a fresh proof).
// The session growth servers (`mintSessions`) also have the bench-only route
// that copies the caller's logged-in session N times (./mint-sessions.ts).
import Fastify from 'fastify'
import fastifyOidc, { resolveConfig, type FastifyOidcOptions } from '../../lib/index.js'
import { ROUTE, SCOPE } from '../spec.js'
import { fastifyServer, HOST, required, type BuildServer } from './common.js'
import { countingStore } from './counting-store.js'
import { MINT_ROUTE, mintSessions } from './mint-sessions.js'

export const build: BuildServer = async (spec) => {
  const app = Fastify({ logger: false })
  const options: FastifyOidcOptions = {
    issuer: required(spec, 'issuer'),
    clientId: required(spec, 'clientId'),
    clientSecret: required(spec, 'clientSecret'),
    baseUrl: `http://${HOST}:${spec.port}`,
    sessionSecret: required(spec, 'sessionSecret'),
    scope: SCOPE,
    ...(spec.memoryStoreMax === undefined ? {} : { memoryStoreMax: spec.memoryStoreMax }),
    ...(spec.downstreamUrl === undefined ? {} : { downstreams: [new URL(spec.downstreamUrl).origin] }),
    ...(spec.dpop === undefined ? {} : { dpop: spec.dpop }),
    env: {}
  }
  const defaults = resolveConfig(options)
  const store = countingStore(spec.sessionStore ?? 'memory', {
    ttl: defaults.sessionMaxAge * 1000,
    max: defaults.memoryStoreMax,
    commandTimeout: Math.min(defaults.httpTimeout, 2000)
  })
  if ('close' in store) app.addHook('onClose', async () => { await store.close() })
  await app.register(fastifyOidc, { ...options, sessionStore: store })
  if (spec.mintSessions === true) {
    const gc = (globalThis as { gc?: () => void }).gc
    const mint = { store, sessionSecret: required(spec, 'sessionSecret'), issuer: required(spec, 'issuer'), cookieName: defaults.cookieName, ttlMs: defaults.sessionMaxAge * 1000 }
    app.post(MINT_ROUTE, { preHandler: app.requireAuth() }, async (request) => {
      const cookies = await mintSessions(mint, request.session.sessionId, (request.body as { count: number }).count)
      // What minting allocated is not what the sessions hold (the child runs with --expose-gc in the bench).
      gc?.()
      return { cookies }
    })
  }
  const downstream = spec.downstreamUrl
  if (spec.fetchMode === 'oidc' && downstream !== undefined) {
    app.get(ROUTE, { preHandler: app.requireAuth() }, async (request) => {
      const res = await request.oidc.fetch(downstream)
      if (!res.ok) throw new Error(`the downstream answered ${res.status}`)
      await res.arrayBuffer()
      return { sub: request.oidc.user!.sub }
    })
  } else if (spec.fetchMode === 'plain' && downstream !== undefined) {
    app.get(ROUTE, { preHandler: app.requireAuth() }, async (request) => {
      const res = await fetch(downstream, { headers: { authorization: `Bearer ${await request.oidc.accessToken()}` } })
      if (!res.ok) throw new Error(`the downstream answered ${res.status}`)
      await res.arrayBuffer()
      return { sub: request.oidc.user!.sub }
    })
  } else {
    app.get(ROUTE, { preHandler: app.requireAuth() }, async (request) => ({ sub: request.oidc.user!.sub }))
  }
  await app.ready()
  return { ...fastifyServer(app), writes: () => ({ ...store.writes }) }
}
