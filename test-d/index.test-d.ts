import Fastify from 'fastify'
import { expectAssignable, expectError, expectType } from 'tsd'
import fastifyOidc, {
  fastifyOidc as named, MemoryStore, OidcUnauthenticatedError,
  type OidcAuditEvent, type OidcClaims, type OidcClient, type OidcTokenSet
} from 'fastify-oidc'

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
  return request.oidc.user?.sub
})
expectError(app.requireAuth({ accept: ['cookie'] }))

const client = app.oidc.client()
expectType<OidcClient>(client)
expectType<Promise<{ tokens: OidcTokenSet, claims?: OidcClaims }>>(client.refresh({ accessToken: 'x', tokenType: 'Bearer' }))
expectType<'FST_OIDC_UNAUTHENTICATED'>(new OidcUnauthenticatedError().code)
