import type { FastifyBaseLogger } from 'fastify'

/** The codes of failures that an outage repeats on every request: a store, the IdP, the user directory. */
export const OUTAGE_CODES = new Set([
  'FST_OIDC_SESSION_STORE_UNAVAILABLE',
  'FST_OIDC_IDP_UNREACHABLE',
  'FST_OIDC_IDP_TIMEOUT',
  'FST_OIDC_REFRESH_PENDING',
  'FST_OIDC_PROVIDER_UNAVAILABLE',
  'FST_OIDC_AUTHENTICATOR_UNAVAILABLE',
  'FST_OIDC_VERIFIER_UNAVAILABLE'
])

interface Episode {
  /** Failures of this kind since the last line written. */
  repeated: number
  timer: NodeJS.Timeout
}

/**
 * Keeps an outage from flooding the log: the first failure of a kind is
 * logged at error level as usual; the ones that follow are written at debug
 * level, and one error line per interval says how many there were. A kind
 * quiet for a whole interval starts over.
 */
export class OutageLog {
  readonly #episodes = new Map<string, Episode>()
  readonly #log: FastifyBaseLogger
  readonly #intervalMs: number

  constructor (log: FastifyBaseLogger, intervalMs = 60_000) {
    this.#log = log
    this.#intervalMs = intervalMs
  }

  /** Counts a failure of `kind`: true when it is the first of its episode (log it at error level), false for a repeat. */
  report (kind: string): boolean {
    const episode = this.#episodes.get(kind)
    if (episode !== undefined) {
      episode.repeated++
      return false
    }
    this.#episodes.set(kind, { repeated: 0, timer: this.#tick(kind) })
    return true
  }

  #tick (kind: string): NodeJS.Timeout {
    return setTimeout(() => {
      const episode = this.#episodes.get(kind)!
      if (episode.repeated === 0) {
        this.#episodes.delete(kind)
        return
      }
      this.#summarise(kind, episode)
      episode.timer = this.#tick(kind)
    }, this.#intervalMs).unref()
  }

  #summarise (kind: string, episode: Episode): void {
    this.#log.error({ kind, count: episode.repeated, intervalMs: this.#intervalMs }, `oidc: ${episode.repeated} more ${kind} failures (logged at debug level)`)
    episode.repeated = 0
  }

  /** Writes the pending counts and stops the timers (on close). */
  close (): void {
    for (const [kind, episode] of this.#episodes) {
      clearTimeout(episode.timer)
      if (episode.repeated > 0) this.#summarise(kind, episode)
    }
    this.#episodes.clear()
  }
}

/** `log` with its error lines written at debug level (for the repeats of an outage). */
export function quieter (log: FastifyBaseLogger): FastifyBaseLogger {
  const quiet = Object.create(log) as FastifyBaseLogger
  quiet.error = log.debug.bind(log)
  return quiet
}
