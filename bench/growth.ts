// How the bearer guard's cost grows with the number of distinct tokens in
// rotation (issue 15): one fastify-oidc requireBearer server (RS256, its default
// cache of verified tokens) per count, the counts measured in interleaved
// rounds, each request carrying the next token of its set. The cache is
// bounded: the server's RSS after its last round is reported with it.
import type { ChildRuntime, ServerChild } from './harness.js'
import { startServer } from './harness.js'
import { AUDIENCE, SUB, TOKEN_ISSUER, type Fixture } from './fixture.js'
import { load, type LoadResult } from './load.js'
import { ROUTE, type RowDef } from './spec.js'
import { freePort } from '../test/helpers/provider.js'

export interface GrowthResult {
  tokens: number
  rounds: LoadResult[]
  /** Bytes, after the last round. */
  rss: number
}

export interface GrowthOptions {
  fixture: Fixture
  runtime: ChildRuntime
  counts: number[]
  rounds: number
  seconds: number
  warmup: number
  connections: number
  log: (line: string) => void
}

export async function bearerGrowth (options: GrowthOptions): Promise<GrowthResult[]> {
  const { fixture, runtime, counts, rounds, seconds, warmup, connections, log } = options
  const servers: Array<{ tokens: number, child: ServerChild, sets: Array<Record<string, string>>, results: LoadResult[] }> = []
  try {
    for (const tokens of counts) {
      log(`bearer growth: signing ${tokens} distinct RS256 access tokens`)
      const sets = (await fixture.mintRs256(tokens)).map((token) => ({ authorization: `Bearer ${token}` }))
      const row: RowDef = { id: `7c×${tokens}`, label: `requireBearer, cache, ${tokens} tokens`, kind: 'bearer', credential: 'bearer-rs256' }
      const started = await startServer(row, {
        kind: 'bearer', port: await freePort(), sub: SUB, tokenIssuer: TOKEN_ISSUER, audience: AUDIENCE, jwksUri: fixture.jwksUri
      }, runtime)
      if ('failed' in started) throw new Error(`bearer growth server did not start: ${started.failed}`)
      servers.push({ tokens, child: started, sets, results: [] })
    }
    const url = (s: ServerChild): string => `${s.base}${ROUTE}`
    for (const s of servers) await load({ url: url(s.child), headers: {}, rotate: s.sets, seconds: warmup, connections })
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const s = servers[(i + round) % servers.length]!
        const result = await load({ url: url(s.child), headers: {}, rotate: s.sets, seconds, connections })
        s.results.push(result)
        log(`bearer growth, round ${round + 1}, ${s.tokens} tokens: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms` +
          (result.non2xx + result.errors > 0 ? `, ${result.non2xx} non-2xx, ${result.errors} errors` : ''))
      }
    }
    const out: GrowthResult[] = []
    for (const s of servers) out.push({ tokens: s.tokens, rounds: s.results, rss: await s.child.rss() })
    return out
  } finally {
    await Promise.all(servers.map(async (s) => await s.child.close()))
  }
}
