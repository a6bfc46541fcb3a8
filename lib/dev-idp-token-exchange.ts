// The dev IdP's RFC 8693 token-exchange grant (`DevIdpOptions.tokenExchange`),
// registered on oidc-provider 9 with `registerGrantType` (its handler gets the
// context only and sets `ctx.body`). Minimal on purpose: enough to issue each
// downstream a token for its own audience, and to refuse what a real IdP refuses.
import { EmbeddedJWK, calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import type { KoaContextWithOIDC, default as ProviderClass } from 'oidc-provider'

/** RFC 8693 section 2.1 `grant_type`. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/** Which audiences a token may be exchanged for. */
export interface DevIdpTokenExchange {
  /** Each audience a token may be exchanged for, with its scopes (default 'api:read'). */
  audiences: Record<string, { scope?: string }>
  /** Lifetime of an exchanged token, seconds. Default 300. */
  ttl?: number
}

/** The subject token's user and client: an opaque token found in the provider's store, or one of its own RFC 9068 JWT access tokens. */
async function subjectOf (ctx: KoaContextWithOIDC, token: string, keys: JWK[]): Promise<{ accountId: string, clientId: string | undefined, grantId?: string } | undefined> {
  const stored = await ctx.oidc.provider.AccessToken.find(token)
  if (stored !== undefined) return stored.isExpired ? undefined : { accountId: stored.accountId, clientId: stored.clientId, grantId: stored.grantId }
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }), { issuer: ctx.oidc.provider.issuer, typ: 'at+jwt' })
    return typeof payload.sub === 'string' ? { accountId: payload.sub, clientId: payload['client_id'] as string | undefined } : undefined
  } catch {
    return undefined
  }
}

/**
 * The thumbprint of the key of the request's DPoP proof (a custom grant is handed no
 * validated proof: checked here, as oidc-provider checks its own grants' — signature
 * by the embedded key, `typ`, `htm` POST, `htu` the token endpoint, `iat` within a
 * minute), or undefined without one; a bad proof is `invalid_dpop_proof`.
 */
async function dpopThumbprint (ctx: KoaContextWithOIDC, errors: typeof import('oidc-provider').errors): Promise<string | undefined> {
  const proof = ctx.get('DPoP')
  if (proof === '') return undefined
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA', 'Ed25519'], maxTokenAge: 60 })
    if (payload['htm'] !== 'POST' || payload['htu'] !== ctx.oidc.urlFor('token')) throw new Error('htm or htu mismatch')
    return await calculateJwkThumbprint(protectedHeader.jwk!)
  } catch {
    throw new errors.InvalidDpopProof('invalid DPoP proof')
  }
}

/**
 * Registers the grant: the subject token must be an access token this provider
 * issued to the same client and still valid (an opaque one found in its store, or
 * a JWT one verified with `publicKeys`), else `invalid_grant`; the audience (`audience`, else `resource`)
 * one of `exchange.audiences`, else `invalid_target`. The answer is an RFC 9068
 * JWT access token of the same user whose `aud` is that audience alone, with the
 * requested scopes it knows (all of them when none is asked for); bound to the key of the
 * request's DPoP proof when there is one (`cnf.jkt`, `token_type` DPoP).
 */
export function registerTokenExchange (provider: ProviderClass, errors: typeof import('oidc-provider').errors, exchange: DevIdpTokenExchange, publicKeys: JWK[]): void {
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, async (ctx: KoaContextWithOIDC) => {
    const params = ctx.oidc.params as Record<string, unknown>
    const client = ctx.oidc.client!
    const jkt = await dpopThumbprint(ctx, errors)
    if (params['subject_token_type'] !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('subject_token_type must be an access token')
    const requested = params['audience'] ?? params['resource']
    const target = typeof requested === 'string' ? exchange.audiences[requested] : undefined
    if (target === undefined) throw new errors.InvalidTarget('unknown audience')
    const subject = await subjectOf(ctx, String(params['subject_token']), publicKeys)
    if (subject === undefined || subject.clientId !== client.clientId) throw new errors.InvalidGrant('subject_token is not a valid access token of this client')
    const known = (target.scope ?? 'api:read').split(' ')
    const asked = typeof params['scope'] === 'string' ? params['scope'].split(' ') : known
    const scope = asked.filter((s) => known.includes(s)).join(' ')
    const token = new ctx.oidc.provider.AccessToken({ accountId: subject.accountId, client, gty: 'token_exchange', scope, ...(subject.grantId === undefined ? {} : { grantId: subject.grantId }) } as ConstructorParameters<ProviderClass['AccessToken']>[0])
    token.resourceServer = new ctx.oidc.provider.ResourceServer(requested as string, {
      audience: requested as string, scope: known.join(' '), accessTokenFormat: 'jwt', accessTokenTTL: exchange.ttl ?? 300, jwt: { sign: { alg: 'RS256' } }
    })
    if (jkt !== undefined) token.setThumbprint('jkt', jkt)
    const value = await token.save()
    ctx.body = { access_token: value, issued_token_type: ACCESS_TOKEN_TYPE, token_type: jkt === undefined ? 'Bearer' : 'DPoP', expires_in: token.expiration, scope }
  }, ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'])
}
