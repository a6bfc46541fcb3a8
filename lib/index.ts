import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { createAudit } from './audit.js'
import { resolveBasicConfig } from './basic/config.js'
import { FailureThrottle } from './basic/throttle.js'
import { resolveConfig } from './config.js'
import { RequestContext } from './context.js'
import { OidcUnknownProviderError } from './errors.js'
import { OUTAGE_CODES, OutageLog, quieter } from './outage-log.js'
import { createBasicAuthenticator } from './guards/basic.js'
import { createRequireAuth } from './guards/require-auth.js'
import { startProviders } from './provider/providers.js'
import { relyingPartyBearer } from './resource-server/relying-party.js'
import { retryAfterOf } from './routes/error-handler.js'
import { registerRoutes } from './routes/index.js'
import { LOCK_TTL_FACTOR } from './refresh-flight.js'
import type { Runtime } from './runtime.js'
import { SessionCookieSigner } from './session/cookie-signer.js'
import { cookieSigningSecrets } from './session/keys.js'
import { MemoryStore } from './session/memory-store.js'
import { openSessionStore } from './session/open-store.js'
import { RedisStore } from './session/redis-store.js'
import { SessionIndex } from './session/session-index.js'
import { generateSessionId } from './session/session-id.js'
import { TombstoneStore } from './session/tombstones.js'
import { TokenVault } from './session/token-vault.js'
import type { ClaimOnce } from './session/transaction.js'
import { SingleFlight } from './tokens/single-flight.js'
import type { FastifyOidcOptions } from './options.js'

const kContext = Symbol('fastify-oidc.context')
const plugin: FastifyPluginAsync<FastifyOidcOptions> = async function fastifyOidc (fastify: FastifyInstance, options) {
  const config = resolveConfig(options)
  const basicConfig = resolveBasicConfig(options)
  // A store shared by instances also makes each login's state single-use across them (one process: in memory).
  let claimOnce: ClaimOnce | undefined
  const clients = await startProviders(fastify, config, async (key, ttlMs) => await (claimOnce?.(key, ttlMs) ?? true))

  const innerStore = await openSessionStore(config)
  if (innerStore instanceof RedisStore && config.sessionStore !== innerStore) fastify.addHook('onClose', async () => { await innerStore.close() })
  if (!(innerStore instanceof MemoryStore)) claimOnce = innerStore.claimOnce?.bind(innerStore)
  const store = new TombstoneStore(innerStore, config.sessionMaxAge * 1000)

  const cookieScope = {
    path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies, ...(config.cookieDomain === undefined ? {} : { domain: config.cookieDomain })
  }
  if (!fastify.hasRequestDecorator('cookies')) await fastify.register(fastifyCookie)
  await fastify.register(fastifySession, {
    // The HMAC signer of @fastify/cookie, remembering the ids it verified (two HMACs fewer per request).
    secret: new SessionCookieSigner(cookieSigningSecrets(config.sessionSecrets)),
    cookieName: config.cookieName,
    // Anonymous requests write nothing; a session is written only when it changed (login, refresh):
    // its lifetime is absolute (sessionMaxAge from login) and a request cannot resurrect it after logout.
    saveUninitialized: false,
    rolling: false,
    store,
    // Lets a login pick its regenerated session's id, so that the regeneration writes nothing before the login does.
    idGenerator: generateSessionId,
    cookie: { ...cookieScope, maxAge: config.sessionMaxAge * 1000 }
  })

  const providers = new Map(clients.map((c) => [c.name, { client: c, index: new SessionIndex(config.sessionSecrets, innerStore, c.provider.issuer, config.sessionMaxAge * 1000) }]))
  const client = clients[0]!
  const audit = createAudit(config.onAudit)
  const runtime: Runtime = {
    config,
    client,
    vault: new TokenVault(config.sessionSecrets, 10_000, config.sessionIdleTimeout * 1000, new Set(providers.keys())),
    flights: new SingleFlight(),
    exchangeFlights: new SingleFlight(),
    audit,
    store,
    innerStore,
    waitMs: config.httpTimeout + 1000,
    lockTtlMs: LOCK_TTL_FACTOR * config.httpTimeout,
    index: providers.get(client.name)!.index,
    providers,
    bearer: await relyingPartyBearer(fastify, config, client.discovered, options, claimOnce),
    basic: basicConfig === undefined
      ? undefined
      : {
          realm: basicConfig.realm,
          authenticate: createBasicAuthenticator({
            config: basicConfig,
            throttle: new FailureThrottle(innerStore, config.sessionSecrets, basicConfig.maxFailures, basicConfig.windowMs),
            audit,
            baseUrl: config.baseUrl
          })
        }
  }

  fastify.decorate('oidc', {
    client (name?: string) {
      const found = name === undefined ? client : providers.get(name)?.client
      if (found === undefined) throw new OidcUnknownProviderError(JSON.stringify(name))
      return found
    }
  })
  fastify.decorate('requireAuth', createRequireAuth(runtime))
  fastify.decorateRequest('oidc', {
    getter (this: FastifyRequest & { [kContext]?: RequestContext }) {
      this[kContext] ??= new RequestContext(this, runtime)
      return this[kContext]
    }
  })
  // Makes `request.oidc.user` available on every route and in every later hook, guarded or not
  // (runs after @fastify/session's own onRequest hook; opened values are cached).
  fastify.addHook('onRequest', async (request) => {
    await (request.oidc as RequestContext).load()
  })
  // An outage fails every request the same way: the first failure of a kind is logged at error
  // level, the repeats at debug level (by whichever error handler logs them) plus one count per minute.
  const outages = new OutageLog(fastify.log)
  fastify.addHook('onClose', async () => { outages.close() })
  fastify.addHook('onError', async (request, reply, error) => {
    const code = (error as { code?: string }).code
    if (code !== undefined && OUTAGE_CODES.has(code) && !outages.report(code)) {
      request.log = reply.log = quieter(reply.log)
    }
  })
  // A store outage, an IdP down or slow, or a provider not discovered yet: the client may retry, say when.
  fastify.addHook('onError', async (_request, reply, error) => {
    const seconds = retryAfterOf(error)
    if (seconds !== undefined) reply.header('retry-after', String(seconds))
  })
  // A session ended in this request (logout, refused refresh) also loses its cookie.
  fastify.addHook('onSend', async (request, reply) => {
    const context = (request as FastifyRequest & { [kContext]?: RequestContext })[kContext]
    if (context?.ended === true && request.cookies[config.cookieName] !== undefined) {
      reply.clearCookie(config.cookieName, cookieScope)
    }
  })
  registerRoutes(fastify, runtime)
}

/** The relying-party plugin. */
export const fastifyOidc = fp(plugin, { fastify: '5.x', name: 'fastify-oidc' })
export default fastifyOidc

export { resolveConfig } from './config.js'
export { MemoryStore } from './session/memory-store.js'
export { RedisStore } from './session/redis-store.js'
export * from './errors.js'
export type * from './types.js'
export { oidcResourceServer } from './resource-server/plugin.js'
export { resolveResourceServerConfig } from './resource-server/config.js'
