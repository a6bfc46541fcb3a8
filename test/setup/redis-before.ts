// tap `before` script: picks the Redis for this run, once. REDIS_URL or
// 127.0.0.1:6379 when one answers; otherwise a redis-server from PATH on a free
// port, owned by test/setup/redis-keeper.mjs, which stops it after the run (or
// as soon as the tap runner is gone). Without a usable Redis it fails at once,
// with one line saying how to get one.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { answers, RUN_DIR, runFile, type RedisRun } from './redis-run.js'

const INSTALL = 'install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)'

// The tap runner: the test files are its children too, and find the run's file by its pid.
const runner = process.ppid

function fail (line: string): never {
  process.stderr.write(`${line}\n`)
  process.exit(1)
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function choose (): Promise<RedisRun> {
  const fromEnv = process.env['REDIS_URL']
  if (fromEnv !== undefined && fromEnv !== '') {
    if (await answers(fromEnv)) return { url: fromEnv, source: 'REDIS_URL' }
    process.stderr.write(`REDIS_URL=${new URL(fromEnv).origin} does not answer; trying 127.0.0.1:6379\n`)
  }
  if (await answers('redis://127.0.0.1:6379')) return { url: 'redis://127.0.0.1:6379', source: 'default' }
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const keeper = spawn(process.execPath, [fileURLToPath(new URL('redis-keeper.mjs', import.meta.url)), String(runner), String(port), fileURLToPath(runFile(runner))], {
    detached: true,
    stdio: 'ignore'
  })
  keeper.unref()
  for (let i = 0; i < 100; i++) {
    if (await answers(url)) return { url, source: 'started', keeperPid: keeper.pid! }
    if (keeper.exitCode !== null) break
    await sleep(50)
  }
  keeper.kill()
  fail(`The tests need Redis: none answers at 127.0.0.1:6379 and redis-server did not start on port ${port}; set REDIS_URL to a Redis that answers.`)
}

// Some tests stop and start a redis-server of their own, so the binary is needed even when a Redis answers.
if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error !== undefined) {
  fail(`The tests need Redis: redis-server is not on PATH; ${INSTALL}.`)
}
const run = await choose()
if (process.ppid !== runner) {
  // The runner is gone (interrupted): record nothing, and stop what was started.
  if (run.keeperPid !== undefined) process.kill(run.keeperPid)
  process.exit(1)
}
mkdirSync(RUN_DIR, { recursive: true })
writeFileSync(runFile(runner), JSON.stringify(run))
if (run.source === 'started') process.stderr.write(`Redis for the tests: redis-server started on ${run.url} for this run\n`)
