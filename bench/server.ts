// One benchmark server, run as its own child process by the orchestrator:
// `node <build>/bench/server.js` (or `node --import tsx bench/server.ts`) with
// `BENCH_SPEC` (a ServerSpec as JSON) and an IPC channel. It loads only its own
// server module, listens on 127.0.0.1, says `ready` (or `failed`), answers
// `rss` and stops on `close`.
import type { BenchServer } from './servers/common.js'
import { loadServer } from './servers/index.js'
import type { ChildMessage, ParentMessage, ServerSpec } from './spec.js'

function send (message: ChildMessage): void {
  process.send?.(message)
}

const spec = JSON.parse(process.env['BENCH_SPEC'] ?? 'null') as ServerSpec | null
if (spec === null || process.send === undefined) {
  console.error('bench/server.ts is started by bench/run.ts (BENCH_SPEC and an IPC channel are needed)')
  process.exit(2)
}

let server: BenchServer | undefined
try {
  server = await (await loadServer(spec.kind))(spec)
  await server.listen(spec.port)
  send({ type: 'ready' })
} catch (err) {
  const { code, message } = err as { code?: string, message?: string }
  send({ type: 'failed', code, message: String(message) })
  process.disconnect()
  process.exitCode = 1
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'rss') {
    send({ type: 'rss', rss: process.memoryUsage.rss() })
  } else if (message.type === 'writes') {
    send({ type: 'writes', writes: server?.writes?.() ?? null })
  } else if (message.type === 'close') {
    const done = (): void => { process.disconnect() }
    server === undefined ? done() : server.close().then(done, done)
  }
})
// The orchestrator went away: do not linger.
process.on('disconnect', () => { setTimeout(() => process.exit(0), 1000).unref() })
