// Owns the redis-server that test/setup/redis-before.ts starts for one tap run:
// stops it on SIGTERM (test/setup/redis-after.ts) or when the tap runner is
// gone (an interrupted run leaves no redis-server behind), and removes the
// run's file. Plain JavaScript: it starts without a TypeScript loader.
// Arguments: runner pid, port, run file.
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'

const [runnerPid, port, runFile] = process.argv.slice(2)
const redis = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })

let stopping = false
function stop () {
  if (stopping) return
  stopping = true
  rmSync(runFile, { force: true })
  if (redis.exitCode !== null || redis.signalCode !== null) process.exit(0)
  redis.once('exit', () => process.exit(0))
  redis.kill('SIGTERM')
  setTimeout(() => redis.kill('SIGKILL'), 3000).unref()
}

process.on('SIGTERM', stop)
process.on('SIGINT', stop)
redis.on('exit', stop)
redis.on('error', stop)
setInterval(() => {
  try {
    process.kill(Number(runnerPid), 0)
  } catch {
    stop()
  }
}, 500)
