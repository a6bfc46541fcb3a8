import { asList, isLoopbackHost, type SettingsReader } from './settings.js'

/** RFC 8693 parameters of the token exchanged for one downstream. */
export interface OidcDownstreamExchange {
  /** `audience` of the exchange: the downstream's name at the IdP (Keycloak: the client id of the downstream service). */
  audience?: string | undefined
  /** `resource` of the exchange (RFC 8707): the downstream's absolute URI, for IdPs that use resource indicators. */
  resource?: string | undefined
  /** `scope` of the exchange: the scopes the downstream's token may carry (space-separated). Default: what the IdP grants. */
  scope?: string | undefined
}

/** A downstream service declared as an object: its origin, and whether its calls carry an exchanged token. */
export interface OidcDownstream {
  /** The service's origin, e.g. `https://details.internal`. */
  origin: string
  /**
   * Calls to it carry a token exchanged at the IdP for this service (RFC 8693),
   * never the user's own access token. Without it, the user's own token is sent.
   */
  exchange?: OidcDownstreamExchange | undefined
}

/** One downstream with its exchange, validated: `origin` as the URL parser writes it. */
export interface ResolvedExchange extends OidcDownstreamExchange {
  origin: string
}

/** The resolved downstreams: who receives the user's own token, and who receives an exchanged one. */
export interface ResolvedDownstreams {
  /** Origins that receive the user's own access token (`OIDC_DOWNSTREAMS`). */
  downstreams: string[]
  /** Origins that receive a token exchanged for them (`OIDC_DOWNSTREAM_EXCHANGE`). */
  exchanges: ResolvedExchange[]
}

const EXCHANGE_SYNTAX = '<origin>=<audience>[,<origin>=<audience>…] such as https://details.internal=details'

/** Why a downstream entry is not an acceptable origin, or undefined when it is one. */
function originProblem (entry: unknown, allowHttp: boolean): string | undefined {
  if (typeof entry !== 'string' || !URL.canParse(entry)) return 'not an absolute URL'
  const url = new URL(entry)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `the scheme ${url.protocol} is not http(s)`
  if (url.username !== '' || url.password !== '') return 'no credentials'
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return 'no path, query or fragment'
  if (url.protocol === 'http:' && !allowHttp && !isLoopbackHost(url.hostname)) return 'http only for loopback hosts unless OIDC_ALLOW_HTTP=true'
  return undefined
}

/** An entry as a problem line may quote it: credentials hidden, cut short. */
function quoted (entry: unknown, max = 60): string {
  return JSON.stringify(String(entry).replace(/\/\/[^@/]*@/, '//***@').slice(0, max))
}

/** Why an exchange's parameters are not usable, or undefined. */
function exchangeProblem (exchange: unknown): string | undefined {
  if (typeof exchange !== 'object' || exchange === null) return 'exchange: expected { audience, resource?, scope? }'
  const { audience, resource, scope } = exchange as Record<string, unknown>
  for (const [name, value] of Object.entries({ audience, resource, scope })) {
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) return `exchange.${name}: expected a non-empty string`
  }
  if (audience === undefined && resource === undefined) return 'exchange: an audience or a resource is required'
  if (resource !== undefined && (!URL.canParse(resource as string) || new URL(resource as string).hash !== '')) return 'exchange.resource: expected an absolute URI without fragment'
  return undefined
}

/** `OIDC_DOWNSTREAM_EXCHANGE` entries as exchange declarations (a malformed entry is a problem line). */
function parseExchangeEnv (raw: string, problems: string[]): OidcDownstream[] {
  const entries: OidcDownstream[] = []
  for (const entry of asList(raw)) {
    const at = entry.indexOf('=')
    const audience = at < 0 ? '' : entry.slice(at + 1).trim()
    if (audience === '') {
      problems.push(`OIDC_DOWNSTREAM_EXCHANGE: expected ${EXCHANGE_SYNTAX} (an audience after "="), got ${quoted(entry)}`)
    } else {
      entries.push({ origin: entry.slice(0, at).trim(), exchange: { audience } })
    }
  }
  return entries
}

/**
 * The downstream allow-list: `downstreams` (strings, or `{ origin, exchange }`
 * objects) when the option is given, else `OIDC_DOWNSTREAMS` plus
 * `OIDC_DOWNSTREAM_EXCHANGE` (which allow-lists its origins too). An origin
 * declared with an exchange only ever receives exchanged tokens, even when it is
 * also listed as a plain downstream. Origins are kept as URL origins (lowercase
 * host, default port dropped): `request.oidc.fetch` compares `new URL(target).origin` with them.
 */
export function resolveDownstreams (reader: SettingsReader, option: unknown): ResolvedDownstreams {
  const { problems, allowHttp, pick, read } = reader
  const raw: unknown = pick(option as string[] | undefined, 'OIDC_DOWNSTREAMS', asList, 'a comma-separated list of origins') ?? []
  const fromEnv = option === undefined
  const declared: unknown[] = Array.isArray(raw) ? [...raw] : []
  if (!Array.isArray(raw)) problems.push('downstreams: expected an array of origins such as https://api.example.com')
  const exchangeEnv = fromEnv ? read('OIDC_DOWNSTREAM_EXCHANGE') : undefined
  if (exchangeEnv !== undefined) declared.push(...parseExchangeEnv(exchangeEnv, problems))

  const plain = new Set<string>()
  const exchanges = new Map<string, ResolvedExchange>()
  for (const entry of declared) {
    const isObject = typeof entry === 'object' && entry !== null
    const origin = isObject ? (entry as OidcDownstream).origin : entry
    const exchange = isObject ? (entry as OidcDownstream).exchange : undefined
    const name = exchange === undefined ? 'OIDC_DOWNSTREAMS' : (fromEnv ? 'OIDC_DOWNSTREAM_EXCHANGE' : 'downstreams')
    const why = originProblem(origin, allowHttp)
    if (why !== undefined) {
      problems.push(name === 'OIDC_DOWNSTREAM_EXCHANGE'
        ? `${name}: expected ${EXCHANGE_SYNTAX} (the origin: ${why}), got ${quoted(origin)}`
        : `${name}: expected origins such as https://api.example.com (${why}), got ${quoted(origin)}`)
      continue
    }
    const normalised = new URL(origin as string).origin
    if (exchange === undefined) {
      plain.add(normalised)
      continue
    }
    const problem = exchangeProblem(exchange)
    if (problem !== undefined) problems.push(`downstreams: ${quoted(normalised)}: ${problem}`)
    else if (exchanges.has(normalised)) problems.push(`${name}: ${quoted(normalised)} is declared with an exchange twice`)
    else exchanges.set(normalised, { origin: normalised, ...pickExchange(exchange) })
  }
  return { downstreams: [...plain].filter((origin) => !exchanges.has(origin)), exchanges: [...exchanges.values()] }
}

/** Only the known exchange parameters, trimmed. */
function pickExchange (exchange: OidcDownstreamExchange): OidcDownstreamExchange {
  const picked: OidcDownstreamExchange = {}
  for (const name of ['audience', 'resource', 'scope'] as const) {
    const value = exchange[name]
    if (value !== undefined) picked[name] = value.trim()
  }
  return picked
}
