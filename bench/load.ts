// One autocannon run against one server (from the orchestrator's process, never
// the server's), with latencies recorded from each response at sub-millisecond
// precision (autocannon's own histogram counts whole milliseconds).
import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  headers: Record<string, string>
  seconds: number
  connections: number
  /** Header sets sent in turn, one per request (e.g. many distinct bearer tokens), over `headers`. */
  rotate?: Array<Record<string, string>> | undefined
}

export interface LoadResult {
  /** 2xx answers per second. */
  rps: number
  /** Answers received (any status). */
  requests: number
  /** Milliseconds. */
  p50: number
  p99: number
  /** Answers other than 2xx, connection errors and time-outs: any of them makes the run suspect. */
  non2xx: number
  errors: number
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** An autocannon `setupRequest` giving each request the next header set. */
function rotating (base: Record<string, string>, sets: Array<Record<string, string>>): (request: autocannon.Request) => autocannon.Request {
  let next = 0
  return (request) => {
    const set = sets[next++ % sets.length]!
    return { ...request, headers: { ...base, ...set } }
  }
}

export async function load (options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: options.url,
      headers: options.headers,
      duration: options.seconds,
      connections: options.connections,
      ...(options.rotate === undefined ? {} : { requests: [{ setupRequest: rotating(options.headers, options.rotate) }] })
    }, (err: unknown, res: autocannon.Result) => err == null ? resolve(res) : reject(err))
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
  })
  const sorted = Float64Array.from(latencies).sort()
  return {
    rps: result['2xx'] / result.duration,
    requests: result['2xx'] + result.non2xx,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts
  }
}
