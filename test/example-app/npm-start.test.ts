// `npm start` outside a terminal (a process manager, a CI job, `kill`): a
// SIGTERM to the npm process stops the whole example — productpage, details,
// reviews and the embedded IdP — and leaves none of its ports listening.
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../helpers/provider.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** True when something accepts a TCP connection on 127.0.0.1:port. */
async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

t.test('SIGTERM to `npm start` stops the example and every service it started', async (t) => {
  const ports = { PORT: await freePort(), DETAILS_PORT: await freePort(), REVIEWS_PORT: await freePort(), IDP_PORT: await freePort() }
  const env = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL') })
  let output = ''
  npm.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  await new Promise<void>((resolve, reject) => {
    npm.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ctrl-C stops everything')) resolve()
    })
    npm.once('exit', (code) => reject(new Error(`npm start exited (${code}) before listening:\n${output}`)))
  })
  for (const [name, port] of Object.entries(ports)) t.equal(await listening(port), true, `${name} ${port} listens`)

  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)))
  npm.kill('SIGTERM')
  t.equal(await exited, 0, 'npm start exits 0')
  for (const [name, port] of Object.entries(ports)) t.equal(await listening(port), false, `${name} ${port} is closed`)
})
