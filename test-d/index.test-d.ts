import Fastify from 'fastify'
import { expectAssignable, expectError, expectType } from 'tsd'
import fastifyOidc, {
  fastifyOidc as named, MemoryStore, OidcUnauthenticatedError, OidcDownstreamOriginDeniedError, OidcDownstreamUnauthorizedError,
  type OidcAuditEvent, type OidcClaims, type OidcClient, type OidcTokenSet
} from 'fastify-oidc'
import { oidcResourceServer, OidcDpopProofInvalidError, OidcTokenInvalidError, RedisStore, type BearerVerifier, type OidcResourceServerOptions, type ReplayStore, type VerifiedBearer } from 'fastify-oidc'
import type { preHandlerAsyncHookHandler } from 'fastify'
import { OidcProviderUnavailableError, OidcParRejectedError, type OidcDpopKey, type OidcPreset, type OidcProviderOptions, type OidcTokenAuthMethod } from 'fastify-oidc'

const app = Fastify()
expectType<typeof fastifyOidc>(named)
app.register(fastifyOidc, {
  issuer: 'https://idp.example',
  clientId: 'app',
  baseUrl: 'https://app.example',
  sessionSecret: ['a'.repeat(32), 'b'.repeat(32)],
  sessionStore: new MemoryStore({ max: 100 }),
  onAudit (event) {
    expectType<OidcAuditEvent>(event)
    expectAssignable<string>(event.type)
  }
})
expectError(app.register(fastifyOidc, { clientId: 42 }))

app.get('/me', { preHandler: app.requireAuth({ roles: ['admin'], scopes: ['read'], claims: (c) => c.sub !== '' }) }, async (request) => {
  expectType<OidcClaims | null>(request.oidc.user)
  expectType<boolean>(request.oidc.isAuthenticated())
  expectType<string[]>(request.oidc.roles)
  expectType<'session' | 'bearer' | 'basic' | null>(request.oidc.via)
  expectType<Promise<string>>(request.oidc.accessToken())
  expectType<Promise<Response>>(request.oidc.fetch('https://api.example/orders', { method: 'POST', body: '{}' }))
  expectType<Promise<Response>>(request.oidc.fetch(new URL('https://api.example/orders')))
  expectType<Promise<Record<string, string>>>(request.oidc.forwardHeaders())
  expectType<Promise<Record<string, string>>>(request.oidc.forwardHeaders('https://api.example'))
  expectType<Promise<Record<string, string>>>(request.oidc.forwardHeaders('https://api.example', 'POST'))
  expectError(request.oidc.fetch(42))
  return request.oidc.user?.sub
})
expectError(app.requireAuth({ accept: ['cookie'] }))
// Step-up: acceptable acr values and the most seconds since auth_time.
expectType<preHandlerAsyncHookHandler>(app.requireAuth({ acr: ['urn:example:mfa'], maxAge: 300 }))
expectType<preHandlerAsyncHookHandler>(app.requireAuth({ accept: ['session', 'bearer'], acr: undefined, maxAge: undefined }))
expectError(app.requireAuth({ acr: 'urn:example:mfa' }))
expectError(app.requireAuth({ maxAge: '300' }))

const client = app.oidc.client()
expectType<OidcClient>(client)
expectType<Promise<{ tokens: OidcTokenSet, claims?: OidcClaims }>>(client.refresh({ accessToken: 'x', tokenType: 'Bearer' }))
expectType<'FST_OIDC_UNAUTHENTICATED'>(new OidcUnauthenticatedError().code)
expectType<'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED'>(new OidcDownstreamOriginDeniedError('reason').code)
expectType<'FST_OIDC_DOWNSTREAM_UNAUTHORIZED'>(new OidcDownstreamUnauthorizedError().code)

// Resource server
app.register(oidcResourceServer, {
  issuer: 'https://idp.example',
  audience: ['https://api.example', 'reviews'],
  accessTokenTypes: ['any'],
  introspect: true,
  clientId: 'reviews',
  clientSecret: 'secret',
  introspectionCacheTtl: 30,
  verifiedTokenCacheTtl: 0
})
expectAssignable<OidcResourceServerOptions>({ audience: 'https://api.example', env: {} })
expectError(app.register(oidcResourceServer, { audience: 'https://api.example', verifiedTokenCacheTtl: '60' }))
expectError(app.register(oidcResourceServer, { audience: 42 }))
expectType<preHandlerAsyncHookHandler>(app.requireBearer({ scopes: ['reviews:read'] }))
expectType<preHandlerAsyncHookHandler>(app.requireBearer())
expectError(app.requireBearer({ scopes: 'reviews:read' }))
expectType<preHandlerAsyncHookHandler>(app.requireBearer({ scopes: ['pay'], acr: ['urn:example:mfa'], maxAge: 300 }))
expectError(app.requireBearer({ maxAge: '300' }))
app.get('/reviews', { preHandler: app.requireBearer() }, async (request) => {
  expectType<'session' | 'bearer' | 'basic' | null>(request.oidc.via)
  expectType<string[]>(request.oidc.scopes)
  return request.oidc.user?.sub
})
expectType<Promise<VerifiedBearer>>(({} as BearerVerifier).verify('token'))
expectType<'FST_OIDC_TOKEN_INVALID'>(new OidcTokenInvalidError('reason').code)
// DPoP (RFC 9449): the mode, and a replay store shared by instances (the RedisStore, or any claimOnce)
expectAssignable<OidcResourceServerOptions>({ audience: 'https://api.example', dpop: 'required', replayStore: new RedisStore({ url: 'redis://127.0.0.1:6379' }) })
expectAssignable<OidcResourceServerOptions>({ dpop: 'allowed', replayStore: { claimOnce: async (_key: string, _ttlMs: number) => true } })
expectError(app.register(oidcResourceServer, { audience: 'https://api.example', dpop: true }))
expectError(app.register(oidcResourceServer, { audience: 'https://api.example', replayStore: {} }))
expectAssignable<ReplayStore>(new RedisStore({ url: 'redis://127.0.0.1:6379' }))
expectType<string | null>(({} as VerifiedBearer).jkt)
expectType<'FST_OIDC_DPOP_PROOF_INVALID'>(new OidcDpopProofInvalidError('reason').code)

// Several providers, presets, userinfo after login, metadata refresh
app.register(fastifyOidc, {
  baseUrl: 'https://app.example',
  sessionSecret: 'a'.repeat(32),
  metadataRefresh: 300,
  providers: [
    { name: 'staff', preset: 'keycloak', serverUrl: 'https://sso.example', realm: 'staff', clientId: 'app', fetchUserinfo: true },
    { name: 'partners', preset: 'entra', tenant: 'organizations', clientId: 'app', rolesClaim: 'entra' },
    { name: 'github', preset: 'github', clientId: 'Iv1.abc', endpoints: { userinfo: 'https://ghe.example/api/v3/user' } }
  ]
})
app.register(fastifyOidc, { preset: 'google', clientId: 'app', fetchUserinfo: false })
expectError(app.register(fastifyOidc, { preset: 'ping' }))
expectError(app.register(fastifyOidc, { providers: [{ issuer: 'https://idp.example' }] }))
expectError(app.register(fastifyOidc, { providers: [{ name: 'a', sessionSecret: 'x' }] }))
expectAssignable<OidcPreset>('auth0')
expectAssignable<OidcProviderOptions>({ name: 'okta', preset: 'okta', serverUrl: 'https://acme.okta.com' })
expectType<OidcClient>(app.oidc.client('staff'))

// Client authentication and pushed authorization requests, per provider too.
app.register(fastifyOidc, { tokenAuthMethod: 'private_key_jwt', clientPrivateKeyFile: '/run/secrets/oidc.pem', clientKeyId: 'k1', par: 'auto' })
app.register(fastifyOidc, { clientPrivateKey: { kty: 'EC', crv: 'P-256', x: '…', y: '…', d: '…' }, par: true })
expectAssignable<OidcProviderOptions>({ name: 'kc', preset: 'keycloak', tokenAuthMethod: 'client_secret_post', clientSecret: 's', par: false })
expectError(app.register(fastifyOidc, { tokenAuthMethod: 'client_secret_jwt' }))
expectError(app.register(fastifyOidc, { par: 'always' }))
// DPoP (RFC 9449): a boolean for the relying party, for all providers or per provider; the token set carries the session's key.
app.register(fastifyOidc, { dpop: true })
expectAssignable<OidcProviderOptions>({ name: 'kc', preset: 'keycloak', dpop: false })
expectError(app.register(fastifyOidc, { dpop: 'required' }))
expectAssignable<OidcTokenSet>({ accessToken: 'x', tokenType: 'DPoP', dpopKey: { alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: '…', y: '…', d: '…' }, jkt: 't' } })
expectType<OidcDpopKey | undefined>(({} as OidcTokenSet).dpopKey)
expectAssignable<OidcTokenAuthMethod>('none')
expectType<'FST_OIDC_PAR_REJECTED'>(new OidcParRejectedError('invalid_request').code)
expectType<'FST_OIDC_PROVIDER_UNAVAILABLE'>(new OidcProviderUnavailableError('"staff"').code)

// Redis stores: a URL of each form, or a RedisStore on the app's own Redis or Cluster client.
{
  const { Cluster, Redis } = await import('ioredis')
  const { RedisStore } = await import('fastify-oidc')
  app.register(fastifyOidc, { sessionStore: 'redis+cluster://10.0.0.1:6379,10.0.0.2:6379' })
  app.register(fastifyOidc, { sessionStore: 'rediss+sentinel://s1:26379,s2:26379/mymaster?sentinelPassword=x' })
  expectError(app.register(fastifyOidc, { sessionStore: 'memcached://cache:11211' }))
  const onCluster = new RedisStore({ client: new Cluster([{ host: '10.0.0.1', port: 6379 }]), prefix: 'shop:' })
  expectType<InstanceType<typeof Redis> | InstanceType<typeof Cluster>>(onCluster.client)
  app.register(fastifyOidc, { sessionStore: onCluster })
  app.register(fastifyOidc, { sessionStore: new RedisStore({ client: new Redis({ sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' }) }) })
  expectError(new RedisStore({ client: 'redis://cache' }))
}

// Token exchange per downstream: plain origins and { origin, exchange } entries.
app.register(fastifyOidc, {
  downstreams: [
    'https://catalog.internal',
    { origin: 'https://details.internal', exchange: { audience: 'details', scope: 'details:read' } },
    { origin: 'https://reviews.internal', exchange: { resource: 'https://reviews.internal/' } },
    { origin: 'https://plain.internal' }
  ]
})
expectAssignable<import('fastify-oidc').OidcDownstream>({ origin: 'https://details.internal', exchange: { audience: 'details', scope: undefined } })
expectError(app.register(fastifyOidc, { downstreams: [{ exchange: { audience: 'details' } }] }))
expectAssignable<OidcAuditEvent['type']>('token_exchange_failure')
