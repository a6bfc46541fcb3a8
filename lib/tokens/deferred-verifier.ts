import { OidcVerifierUnavailableError } from '../errors.js'
import type { BearerVerifier } from '../resource-server/types.js'

/**
 * A bearer verifier built at its first use, for a provider that could not be
 * reached at start-up: until it can be built (its keys' URL discovered), a
 * token is answered 503 `FST_OIDC_VERIFIER_UNAVAILABLE`, and the next token
 * tries again.
 */
export function deferredVerifier (build: () => Promise<BearerVerifier>): BearerVerifier {
  let built: Promise<BearerVerifier> | undefined
  return {
    async verify (token) {
      built ??= build().catch((err: unknown) => {
        built = undefined
        throw new OidcVerifierUnavailableError('the identity provider is not reachable yet', { cause: err })
      })
      return await (await built).verify(token)
    }
  }
}
