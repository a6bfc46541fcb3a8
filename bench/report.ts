// The tables `npm run bench` prints (Markdown, pasted as is into the README).
import type { Downstreams } from './downstreams.js'
import type { LoadResult } from './load.js'
import type { SessionGrowthResult } from './session-growth.js'
import type { SessionSizes } from './sizes.js'
import { ROWS, type DownstreamKind, type RowDef, type StoreWrites } from './spec.js'
import type { StoreRssResult } from './store-rss.js'

export interface RowReport {
  row: RowDef
  rounds: LoadResult[]
  /** Bytes, after the last round. */
  rss: number
  /** Bytes of the credential header's value a client sends (cookie or authorization). */
  credentialBytes: number
  /** fastify-oidc rows: what the login wrote to the session store. */
  loginWrites?: StoreWrites | null | undefined
  /** fastify-oidc rows: what the load rounds wrote, and how many requests they made. */
  readWrites?: { writes: StoreWrites, requests: number } | undefined
}

/** A zeroed counter set. */
export function noWrites (): StoreWrites {
  return { set: 0, destroy: 0, link: 0, claimOnce: 0 }
}

/** `a` + `b`, by kind. */
export function addWrites (a: StoreWrites, b: StoreWrites): StoreWrites {
  return { set: a.set + b.set, destroy: a.destroy + b.destroy, link: a.link + b.link, claimOnce: a.claimOnce + b.claimOnce }
}

const totalWrites = (w: StoreWrites): number => w.set + w.destroy + w.link + w.claimOnce
const kinds = (w: StoreWrites): string => `set ${w.set}, destroy ${w.destroy}, link ${w.link}, claimOnce ${w.claimOnce}`

/** Store writes of the fastify-oidc rows: per login, and per read-only request (target 0). */
export function writesTable (reports: RowReport[]): string {
  const counted = reports.filter((r) => r.loginWrites != null || r.readWrites !== undefined)
  if (counted.length === 0) return ''
  const lines = [
    '| # | server | login: session writes (target 1) | login: all writes | read-only requests | writes per read-only request (target 0) |',
    '|---:|---|---:|---|---:|---:|'
  ]
  for (const r of counted) {
    const login = r.loginWrites ?? undefined
    const read = r.readWrites
    lines.push(`| ${r.row.id} | ${r.row.label} | ${login === undefined ? 'n/a' : login.set} | ${login === undefined ? 'n/a' : kinds(login)} | ` +
      `${read === undefined ? 'n/a' : int(read.requests)} | ${read === undefined || read.requests === 0 ? 'n/a' : (totalWrites(read.writes) / read.requests).toFixed(totalWrites(read.writes) === 0 ? 0 : 4)} |`)
  }
  return lines.join('\n')
}

export interface Target {
  label: string
  value: number
  goal: number
  /** Undefined when a row it needs did not run. */
  met: boolean | undefined
  /** The lowest and highest ratio of one round to the same round of the other row. */
  min?: number | undefined
  max?: number | undefined
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`
const ms = (value: number): string => value < 10 ? value.toFixed(2) : value.toFixed(1)
const int = (value: number): string => Math.round(value).toLocaleString('en-US')
const ratio = (value: number): string => Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a'

/** Median requests/s of a row's rounds. */
export function medianRps (report: RowReport): number {
  return median(report.rounds.map((r) => r.rps))
}

export function throughputTable (reports: RowReport[], skipped: Array<{ row: RowDef, reason: string }>): string {
  const bare = reports.find((r) => r.row.kind === 'bare')
  const bareRps = bare === undefined ? Number.NaN : medianRps(bare)
  const lines = [
    '| # | server | req/s (median) | vs bare | p50 ms | p99 ms | RSS after load | rounds req/s |',
    '|---:|---|---:|---:|---:|---:|---:|---|'
  ]
  const all = [...reports.map((r) => ({ row: r.row, report: r })), ...skipped.map((s) => ({ row: s.row, skipped: s }))]
  // By id: a row may be a copy (the Cluster row gets the URL of the cluster started for the run).
  const position = (row: RowDef): number => ROWS.findIndex((r) => r.id === row.id)
  for (const entry of all.sort((a, b) => position(a.row) - position(b.row))) {
    if ('skipped' in entry && entry.skipped !== undefined) {
      lines.push(`| ${entry.row.id} | ${entry.skipped.row.label} | skipped | | | | | see note |`)
      continue
    }
    const report = (entry as { report: RowReport }).report
    const rps = medianRps(report)
    lines.push(`| ${report.row.id} | ${report.row.label} | ${int(rps)} | ${ratio(rps / bareRps)} | ` +
      `${ms(median(report.rounds.map((r) => r.p50)))} | ${ms(median(report.rounds.map((r) => r.p99)))} | ${mb(report.rss)} | ` +
      `${report.rounds.map((r) => int(r.rps)).join(' / ')} |`)
  }
  return lines.join('\n')
}

/** Rounds in which a row answered anything but 2xx or had connection errors. */
export function anomalies (reports: RowReport[]): string[] {
  return reports.flatMap((r) => r.rounds.flatMap((round, i) => round.non2xx > 0 || round.errors > 0
    ? [`row ${r.row.id}, round ${i + 1}: ${round.non2xx} non-2xx answers, ${round.errors} errors/time-outs`]
    : []))
}

/**
 * Row `a`'s median req/s over row `b`'s, with the lowest and highest ratio of one
 * round to the same round (the rounds are interleaved: round i of both rows ran
 * minutes apart at most); undefined when either row did not run.
 */
function compare (reports: RowReport[], a: string, b: string): Pick<Target, 'value' | 'min' | 'max'> | undefined {
  const ra = reports.find((r) => r.row.id === a)
  const rb = reports.find((r) => r.row.id === b)
  if (ra === undefined || rb === undefined) return undefined
  const perRound = ra.rounds.map((r, i) => r.rps / (rb.rounds[i]?.rps ?? Number.NaN)).filter(Number.isFinite)
  return { value: medianRps(ra) / medianRps(rb), ...(perRound.length === 0 ? {} : { min: Math.min(...perRound), max: Math.max(...perRound) }) }
}

const roundsRange = (t: Pick<Target, 'min' | 'max'>): string => t.min === undefined || t.max === undefined ? '' : ` (rounds ${ratio(t.min)}–${ratio(t.max)})`

export function targets (reports: RowReport[], sizes: SessionSizes | undefined): Target[] {
  const target = (label: string, a: string, b: string, goal: number): Target => {
    const ratios = compare(reports, a, b)
    if (ratios === undefined) return { label, value: Number.NaN, goal, met: undefined }
    return { label, goal, met: ratios.value >= goal, ...ratios }
  }
  const list = [
    target('(3) / (2b): requireAuth, memory store, vs @fastify/session small user object', '3', '2b', 1.0),
    target('(3) / (6): requireAuth, memory store, vs @fastify/secure-session', '3', '6', 0.9),
    target('(4) / (2b): requireAuth, Redis store, vs @fastify/session small user object', '4', '2b', 0.6),
    target('(7c) / (10): requireBearer RS256 with its cache of verified tokens vs raw jose', '7c', '10', 3),
    target('(7) / (10): requireBearer RS256, no cache, vs raw jose', '7', '10', 0.95),
    target('(11) / (12): request.oidc.fetch() vs global fetch with the header set by hand', '11', '12', 0.9)
  ]
  if (sizes !== undefined) {
    // The goal is a ceiling: expressed as raw / sealed >= 1 / 1.4.
    const value = sizes.sealed / sizes.tokenSet
    list.push({ label: 'sealed session / raw token set (bytes)', value, goal: 1.4, met: value <= 1.4 })
  }
  return list
}

export function targetLines (list: Target[]): string {
  return list.map((t) => {
    const sign = t.label.startsWith('sealed') ? '<=' : '>='
    const status = t.met === undefined ? 'not measured' : t.met ? 'met' : 'MISSED'
    return `- ${t.label}: ${ratio(t.value)}${roundsRange(t)} (target ${sign} ${t.goal}x) — ${status}`
  }).join('\n')
}

/**
 * Issue 17 (reported, no target): the cost of a DPoP-protected downstream call beside
 * the bearer one — row 11d against row 11v (both downstreams verify what they are sent:
 * like for like), and against row 11 (whose downstream verifies nothing); 11v / 11 is
 * the share of the verifying downstream. Lines only for the rows that ran.
 */
export function dpopLines (reports: RowReport[]): string {
  const lines: Array<[string, string, string]> = [
    ['11d', '11v', 'DPoP vs Bearer, request.oidc.fetch() to an oidcResourceServer downstream verifying what it is sent (the proof too for 11d): like for like'],
    ['11d', '11', 'DPoP to a downstream verifying the token and the proof vs Bearer to a downstream checking only the header'],
    ['11v', '11', 'Bearer to a downstream verifying the JWT vs Bearer to a downstream checking only the header']
  ]
  return lines.flatMap(([a, b, label]) => {
    const ratios = compare(reports, a, b)
    return ratios === undefined ? [] : [`- (${a}) / (${b}): ${label}: ${ratio(ratios.value)}${roundsRange(ratios)}`]
  }).join('\n')
}

/** The anchor row (issue 15: reported, no target): the session guard against express-openid-connect. */
export function anchorLine (reports: RowReport[]): string {
  const three = reports.find((r) => r.row.id === '3')
  const five = reports.find((r) => r.row.id === '5')
  if (three === undefined || five === undefined) return ''
  return `- (3) / (5): requireAuth, memory store, vs express-openid-connect requiresAuth(): ${ratio(medianRps(three) / medianRps(five))}`
}

export function sizeTable (sizes: SessionSizes, cookies: Array<{ label: string, bytes: number }>): string {
  const pct = (a: number, b: number): string => `${(a / b).toFixed(2)}x`
  const lines = [
    '| what | bytes |',
    '|---|---:|',
    `| access token (RS256 JWT, ${sizes.claimCounts.accessToken} claims) | ${int(sizes.jwts.accessToken)} |`,
    `| ID token (RS256 JWT, ${sizes.claimCounts.idToken} claims) | ${int(sizes.jwts.idToken)} |`,
    `| refresh token | ${int(sizes.jwts.refreshToken)} |`,
    `| raw token set (JSON: the three tokens, type, expiry, scope) | ${int(sizes.tokenSet)} |`,
    `| user claims (JSON) | ${int(sizes.claims)} |`,
    `| what is sealed: token set + provider${sizes.claimsSealed ? ' + claims' : ' (the claims are the ID token\'s: left out)'} (JSON) | ${int(sizes.payload)} |`,
    `| sealed (DEFLATE, then JWE dir + A256GCM, compact) | ${int(sizes.sealed)} (${pct(sizes.sealed, sizes.tokenSet)} the raw token set) |`,
    `| memory-store entry per session (JSON snapshot) | ${int(sizes.storeEntry)} (${pct(sizes.storeEntry, sizes.tokenSet)} the raw token set) |`,
    `| for comparison: sealed as before (claims included, not compressed) | ${int(sizes.former.uncompressed)} (${pct(sizes.former.uncompressed, sizes.tokenSet)}) |`,
    `| for comparison: claims included, compressed | ${int(sizes.former.compressedWithClaims)} (${pct(sizes.former.compressedWithClaims, sizes.tokenSet)}) |`,
    ...cookies.map((c) => `| cookie sent on each request: ${c.label} | ${int(c.bytes)} |`)
  ]
  return lines.join('\n')
}

export function rssTable (results: StoreRssResult[]): string {
  const counts = [...new Set(results.map((r) => r.sessions))].sort((a, b) => a - b)
  const cell = (r: StoreRssResult | undefined): string => r === undefined
    ? 'n/a'
    : `${mb(r.rssAfter)} (+${mb(r.rssAfter - r.rssBefore)}, ${int((r.rssAfter - r.rssBefore) / r.sessions)} B/session; heap +${int((r.heapAfter - r.heapBefore) / r.sessions)} B/session)`
  const linked = results.some((r) => r.linked) ? ', with its session index' : ''
  const lines = [
    `| sessions | fastify-oidc MemoryStore (sealed${linked}): RSS | the same token sets and claims as plain objects in a Map: RSS |`,
    '|---:|---|---|'
  ]
  for (const n of counts) {
    lines.push(`| ${int(n)} | ${cell(results.find((r) => r.sessions === n && r.kind === 'sealed'))} | ${cell(results.find((r) => r.sessions === n && r.kind === 'plain'))} |`)
  }
  return lines.join('\n')
}

/** Rows the issue does not list, and what they are compared with. */
export function referenceLines (reports: RowReport[]): string {
  const find = (id: string): RowReport | undefined => reports.find((r) => r.row.id === id)
  return reports.filter((r) => r.row.note !== undefined).map((r) => {
    const three = find('3')
    const versus = three === undefined ? '' : `; (3) / (${r.row.id}) = ${ratio(medianRps(three) / medianRps(r))}`
    return `- (${r.row.id}) ${r.row.label} — ${r.row.note}${versus}`
  }).join('\n')
}

/** A growth table: one line per count, req/s median (min–max), p99, non-2xx + errors, and a memory figure. */
function growthLines (first: string, last: string, rows: Array<{ count: number, rounds: LoadResult[], memory: number }>): string {
  const lines = [
    `| ${first} | req/s (median, min–max) | p99 ms (median) | non-2xx | ${last} |`,
    '|---:|---:|---:|---:|---:|'
  ]
  for (const r of rows) {
    const rps = r.rounds.map((x) => x.rps)
    lines.push(`| ${int(r.count)} | ${int(median(rps))} (${int(Math.min(...rps))}–${int(Math.max(...rps))}) | ${ms(median(r.rounds.map((x) => x.p99)))} | ` +
      `${r.rounds.reduce((n, x) => n + x.non2xx + x.errors, 0)} | ${mb(r.memory)} |`)
  }
  return lines.join('\n')
}

/** The bearer growth table: req/s and p99 by number of distinct tokens in rotation, with the server's RSS. */
export function growthTable (results: Array<{ tokens: number, rounds: LoadResult[], rss: number }>): string {
  return growthLines('distinct tokens in rotation', 'RSS after load', results.map((r) => ({ count: r.tokens, rounds: r.rounds, memory: r.rss })))
}

/** A session growth table (one store): req/s and p99 by live sessions, with the server's RSS or its Redis's used_memory. */
export function sessionGrowthTable (results: SessionGrowthResult[], store: SessionGrowthResult['store']): string {
  const last = store === 'memory' ? 'server RSS after load' : 'Redis used_memory after load'
  return growthLines('live sessions in the store', last, results.filter((r) => r.store === store).map((r) => ({ count: r.sessions, rounds: r.rounds, memory: r.memory })))
}

/** Counts whose rounds were not all let in (a rotated cookie not logged in), or whose read-only rounds wrote to the store. */
export function sessionGrowthAnomalies (results: SessionGrowthResult[]): string[] {
  return results.flatMap((r) => {
    const refused = r.rounds.reduce((n, x) => n + x.non2xx, 0)
    const errors = r.rounds.reduce((n, x) => n + x.errors, 0)
    return [
      ...refused + errors > 0 ? [`${r.store} store, ${int(r.sessions)} sessions: ${refused} non-2xx answers, ${errors} errors/time-outs (every rotated cookie should be let in)`] : [],
      ...r.writes > 0 ? [`${r.store} store, ${int(r.sessions)} sessions: ${r.writes} store writes in the read-only rounds (target 0)`] : []
    ]
  })
}

/** What each downstream of the rows that ran was sent: requests, `Authorization` schemes, DPoP proofs, refusals (target 0). */
export function downstreamLines (rows: RowDef[], downstreams: Pick<Downstreams, 'seen'>): string {
  const used = new Map<DownstreamKind, string[]>()
  for (const row of rows) {
    if (row.fetchMode === undefined) continue
    const kind = row.downstream ?? 'header'
    used.set(kind, [...used.get(kind) ?? [], row.id])
  }
  return [...used].map(([kind, ids]) => {
    const seen = downstreams.seen(kind)
    const schemes = Object.entries(seen.schemes).map(([scheme, n]) => `${scheme} ${int(n)}`).join(', ')
    return `- ${kind} (row${ids.length === 1 ? '' : 's'} ${ids.join(', ')}): ${int(seen.requests)} requests (Authorization: ${schemes === '' ? 'none' : schemes}), ` +
      `${int(seen.proofs)} with a DPoP proof, ${int(seen.refused)} refused`
  }).join('\n')
}
