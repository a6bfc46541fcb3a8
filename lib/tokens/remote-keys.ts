import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'

export interface RemoteKeysSettings {
  /** Milliseconds for each JWKS request. */
  httpTimeout: number
  /** Milliseconds after which a key set is refetched. */
  cacheMaxAge: number
  /** Milliseconds between two refetch attempts (age-based or for an unknown `kid`). */
  cooldown: number
  /** Milliseconds since the last good fetch during which that set is still used while refetches fail. */
  maxStale: number
}

/**
 * An issuer's remote JWKS (jose's `createRemoteJWKSet`, which fetches, caches,
 * refetches for an unknown `kid` and joins concurrent fetches) with
 * stale-if-error, which jose lacks: a set older than `cacheMaxAge` is
 * refetched — at most once per `cooldown`, whatever the number of tokens — and
 * while refetches fail the last good set stays in use, until it is `maxStale`
 * old; only then does a token fail with the fetch error (a 503 for the caller).
 *
 * @example
 * const keys = remoteKeys(new URL(jwksUri), { httpTimeout: 5000, cacheMaxAge: 600_000, cooldown: 30_000, maxStale: 86_400_000 })
 * await jwtVerify(token, keys)
 */
export function remoteKeys (url: URL, settings: RemoteKeysSettings): JWTVerifyGetKey {
  // Never stale by age for jose: the age rule is kept here, where a failed refetch can keep the old set.
  const jwks = createRemoteJWKSet(url, { timeoutDuration: settings.httpTimeout, cooldownDuration: settings.cooldown, cacheMaxAge: Infinity })
  let fetchedAt: number | undefined
  let attemptedAt = -Infinity
  let failure: unknown
  return async (header, token) => {
    const now = Date.now()
    if (fetchedAt !== undefined && now - fetchedAt >= settings.cacheMaxAge && now - attemptedAt >= settings.cooldown) {
      attemptedAt = now
      try {
        await jwks.reload()
        fetchedAt = Date.now()
        failure = undefined
      } catch (err) {
        failure = err
      }
    }
    if (failure !== undefined && now - fetchedAt! > settings.maxStale) throw failure
    const key = await jwks(header, token)
    fetchedAt ??= Date.now()
    return key
  }
}
