// The public types of both plugins, re-exported from the parts that own them
// (nothing is declared here): the package's entry points export these.

export type { OidcClaims, OidcDpopKey, OidcLoginResult, OidcRequestContext, OidcTokenSet } from './contract.js'
export type { OidcAuditEvent, OidcAuditEventType } from './audit.js'
export type { FastifyOidcOptions, OidcDecorator, OidcProviderOptions, RequireAuthOptions } from './options.js'
export type { OidcDownstream, OidcDownstreamExchange } from './downstream-config.js'
export type { AuthorizeParams, OidcClient, OidcEndpoints, OidcPreset, OidcTokenAuthMethod } from './provider/types.js'
export type { OidcAuthenticate, OidcBasicOptions, OidcBasicUser } from './basic/options.js'
export type { BearerVerifier, OidcResourceServerOptions, ReplayStore, RequireBearerOptions, VerifiedBearer } from './resource-server/types.js'
export type { MemoryStoreOptions } from './session/memory-store.js'
export type { RedisStoreOptions } from './session/redis-store.js'
export type { OidcSessionStore, SessionStoreCapabilities } from './session/store.js'
