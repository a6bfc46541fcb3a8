// The package entry: the plugin as default and named export (fastify-plugin,
// name fastify-oidc), the error classes with their stable codes and statuses.
import t from 'tap'
import * as entry from '../lib/index.js'
import fastifyOidc from '../lib/index.js'

const EXPECTED_ERRORS: Record<string, [string, number]> = {
  OidcConfigError: ['FST_OIDC_CONFIG_INVALID', 500],
  OidcDiscoveryError: ['FST_OIDC_DISCOVERY_FAILED', 502],
  OidcStateMissingError: ['FST_OIDC_STATE_MISSING', 400],
  OidcStateMismatchError: ['FST_OIDC_STATE_MISMATCH', 400],
  OidcStateReplayedError: ['FST_OIDC_STATE_REPLAYED', 400],
  OidcCallbackMalformedError: ['FST_OIDC_CALLBACK_MALFORMED', 400],
  OidcIssuerMismatchError: ['FST_OIDC_ISS_MISMATCH', 400],
  OidcUnknownProviderError: ['FST_OIDC_UNKNOWN_PROVIDER', 400],
  OidcProviderMismatchError: ['FST_OIDC_PROVIDER_MISMATCH', 400],
  OidcProviderUnavailableError: ['FST_OIDC_PROVIDER_UNAVAILABLE', 503],
  OidcProviderMisconfiguredError: ['FST_OIDC_PROVIDER_MISCONFIGURED', 503],
  OidcRedirectUriError: ['FST_OIDC_REDIRECT_URI_UNDECLARED', 500],
  OidcIdpError: ['FST_OIDC_IDP_ERROR', 401],
  OidcIdTokenInvalidError: ['FST_OIDC_ID_TOKEN_INVALID', 401],
  OidcInvalidGrantError: ['FST_OIDC_INVALID_GRANT', 401],
  OidcIdpResponseError: ['FST_OIDC_IDP_BAD_RESPONSE', 502],
  OidcIdpUnreachableError: ['FST_OIDC_IDP_UNREACHABLE', 502],
  OidcIdpTimeoutError: ['FST_OIDC_IDP_TIMEOUT', 504],
  OidcParRejectedError: ['FST_OIDC_PAR_REJECTED', 502],
  OidcUnauthenticatedError: ['FST_OIDC_UNAUTHENTICATED', 401],
  OidcForbiddenError: ['FST_OIDC_FORBIDDEN', 403],
  OidcCrossOriginError: ['FST_OIDC_CROSS_ORIGIN_REQUEST', 403],
  OidcNoRefreshTokenError: ['FST_OIDC_NO_REFRESH_TOKEN', 401],
  OidcInsecureTransportError: ['FST_OIDC_INSECURE_TRANSPORT', 400],
  OidcSessionStoreError: ['FST_OIDC_SESSION_STORE_UNAVAILABLE', 503],
  OidcRefreshPendingError: ['FST_OIDC_REFRESH_PENDING', 503],
  OidcRefreshFailedError: ['FST_OIDC_REFRESH_FAILED', 401],
  // Step-up authentication (RFC 9470)
  OidcStepUpRequiredError: ['FST_OIDC_STEP_UP_REQUIRED', 401],
  OidcStepUpFailedError: ['FST_OIDC_STEP_UP_FAILED', 403],
  OidcStepUpSubjectError: ['FST_OIDC_STEP_UP_SUBJECT_MISMATCH', 403],
  // Downstream forwarding
  OidcDownstreamOriginDeniedError: ['FST_OIDC_DOWNSTREAM_ORIGIN_DENIED', 500],
  OidcDownstreamUnauthorizedError: ['FST_OIDC_DOWNSTREAM_UNAUTHORIZED', 401],
  // Resource server (RFC 6750)
  OidcBearerMissingError: ['FST_OIDC_BEARER_MISSING', 401],
  OidcTokenInvalidError: ['FST_OIDC_TOKEN_INVALID', 401],
  OidcInsufficientScopeError: ['FST_OIDC_INSUFFICIENT_SCOPE', 403],
  OidcBearerRequestInvalidError: ['FST_OIDC_BEARER_REQUEST_INVALID', 400],
  OidcDpopProofInvalidError: ['FST_OIDC_DPOP_PROOF_INVALID', 401],
  OidcVerifierUnavailableError: ['FST_OIDC_VERIFIER_UNAVAILABLE', 503],
  // Back-channel logout
  OidcLogoutTokenInvalidError: ['FST_OIDC_LOGOUT_TOKEN_INVALID', 400],
  OidcBackchannelUnsupportedError: ['FST_OIDC_BACKCHANNEL_UNSUPPORTED', 501],
  OidcMethodNotAllowedError: ['FST_OIDC_METHOD_NOT_ALLOWED', 405],
  // Delegated authentication (HTTP Basic)
  OidcBasicMalformedError: ['FST_OIDC_BASIC_MALFORMED', 400],
  OidcBasicInsecureTransportError: ['FST_OIDC_BASIC_INSECURE_TRANSPORT', 400],
  OidcBasicThrottledError: ['FST_OIDC_BASIC_THROTTLED', 429],
  OidcAuthenticatorError: ['FST_OIDC_AUTHENTICATOR_UNAVAILABLE', 503]
}

t.test('default and named fastifyOidc are the same fastify-plugin wrapped function', async (t) => {
  t.equal(typeof fastifyOidc, 'function')
  t.equal(entry.fastifyOidc, fastifyOidc)
  t.equal(entry.default, fastifyOidc)
  const plugin = fastifyOidc as unknown as Record<symbol, unknown>
  t.equal(plugin[Symbol.for('skip-override')], true, 'not encapsulated: decorators reach the app')
  t.equal(plugin[Symbol.for('fastify.display-name')], 'fastify-oidc')
  t.match(plugin[Symbol.for('plugin-meta')], { name: 'fastify-oidc', fastify: '5.x' })
})

t.test('the other runtime exports', async (t) => {
  t.equal(typeof entry.resolveConfig, 'function')
  t.equal(typeof entry.MemoryStore, 'function')
  t.equal(new entry.MemoryStore().size, 0)
  t.equal(typeof entry.RedisStore, 'function')
  t.equal(typeof entry.isOidcError, 'function')
})

t.test('every error class is exported with its code and status', async (t) => {
  const exported = entry as unknown as Record<string, new (...args: string[]) => Error & { code: string, statusCode: number }>
  for (const [name, [code, status]] of Object.entries(EXPECTED_ERRORS)) {
    const ErrorClass = exported[name]
    t.equal(typeof ErrorClass, 'function', `${name} is exported`)
    if (ErrorClass === undefined) continue
    const err = new ErrorClass('detail')
    t.ok(err instanceof Error, `${name} is an Error`)
    t.ok(err instanceof ErrorClass, `${name} instances are recognisable`)
    t.equal(err.code, code, `${name}.code`)
    t.equal(err.statusCode, status, `${name}.statusCode`)
    t.equal(err.name, 'FastifyError')
    t.ok(entry.isOidcError(err), `${name} is an OidcError`)
  }
  const errorExports = Object.keys(entry).filter((name) => /^Oidc\w*Error$/.test(name)).sort()
  t.same(errorExports, Object.keys(EXPECTED_ERRORS).sort(), 'no unlisted error class')
})

t.test('messages take their detail; isOidcError rejects anything else', async (t) => {
  t.equal(new entry.OidcForbiddenError('missing role admin').message, 'Access denied: missing role admin')
  t.equal(new entry.OidcCrossOriginError().message, 'Cross-origin request refused')
  t.notOk(entry.isOidcError(new Error('plain')))
  t.notOk(entry.isOidcError(Object.assign(new Error('x'), { code: 'FST_ERR_OTHER', statusCode: 400 })), 'another prefix')
  t.notOk(entry.isOidcError(Object.assign(new Error('x'), { code: 'FST_OIDC_X' })), 'no status')
  t.notOk(entry.isOidcError({ code: 'FST_OIDC_X', statusCode: 400, message: 'x' }), 'not an Error')
  t.notOk(entry.isOidcError(null))
})
