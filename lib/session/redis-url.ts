/** Where a Redis-backed store lives, read from its URL. */
export type RedisTarget =
  | { kind: 'single', url: string, tls: boolean }
  | { kind: 'cluster', nodes: Array<{ host: string, port: number }>, username?: string | undefined, password?: string | undefined, tls: boolean }
  | {
    kind: 'sentinel'
    sentinels: Array<{ host: string, port: number }>
    name: string
    username?: string | undefined
    password?: string | undefined
    sentinelPassword?: string | undefined
    tls: boolean
  }

const SCHEMES = new Map<string, [RedisTarget['kind'], boolean]>([
  ['redis:', ['single', false]], ['rediss:', ['single', true]],
  ['redis+cluster:', ['cluster', false]], ['rediss+cluster:', ['cluster', true]],
  ['redis+sentinel:', ['sentinel', false]], ['rediss+sentinel:', ['sentinel', true]]
])

/** What an error message may show of a store URL: never its credentials or query (`sentinelPassword`). */
export function redactStoreUrl (value: string): string {
  return JSON.stringify(value.replace(/[?#].*$/s, '?…').replace(/\/\/.*@/s, '//***@').slice(0, 80))
}

/** `host:port[,host:port…]`, every port given or 6379 (26379 for Sentinels). */
function hostList (authority: string, defaultPort: number): Array<{ host: string, port: number }> | undefined {
  const nodes = authority.split(',').map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(entry)
    if (match === null) return undefined
    const port = match[2] === undefined ? defaultPort : Number(match[2])
    return port >= 1 && port <= 65535 ? { host: match[1]!.replace(/^\[|\]$/g, ''), port } : undefined
  })
  return nodes.every((node) => node !== undefined) ? nodes : undefined
}

/**
 * Reads a session-store URL: `redis://` / `rediss://` (one server),
 * `redis+cluster://[user:pass@]h:p[,h:p…]` / `rediss+cluster://…` (Redis
 * Cluster seed nodes), `redis+sentinel://[user:pass@]h:p[,h:p…]/<master-name>[?sentinelPassword=…]`
 * / `rediss+sentinel://…` (Sentinels and the monitored primary). `undefined`
 * for anything else (the caller reports it without echoing a password).
 */
export function parseRedisUrl (value: string): RedisTarget | undefined {
  const match = /^([a-z+]+:)\/\/(?:([^@/]*)@)?([^/?#@]+)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(value)
  const scheme = match === null ? undefined : SCHEMES.get(match[1]!)
  if (match === null || scheme === undefined) return undefined
  const [kind, tls] = scheme
  if (kind === 'single') return URL.canParse(value) ? { kind, url: value, tls } : undefined
  const [, , userinfo, authority, path = '', query = ''] = match
  let username: string | undefined
  let password: string | undefined
  try {
    if (userinfo !== undefined) {
      const colon = userinfo.indexOf(':')
      username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon)) || undefined
      password = colon === -1 ? undefined : decodeURIComponent(userinfo.slice(colon + 1))
    }
  } catch {
    return undefined
  }
  const nodes = hostList(authority!, kind === 'cluster' ? 6379 : 26379)
  if (nodes === undefined) return undefined
  if (kind === 'cluster') return path === '' || path === '/' ? { kind, nodes, username, password, tls } : undefined
  const name = /^\/([^/]+)\/?$/.exec(path)?.[1]
  if (name === undefined) return undefined
  const params = new URLSearchParams(query)
  const extra = [...params.keys()].filter((key) => key !== 'sentinelPassword')
  if (extra.length > 0) return undefined
  return { kind, sentinels: nodes, name: decodeURIComponent(name), username, password, sentinelPassword: params.get('sentinelPassword') ?? undefined, tls }
}
