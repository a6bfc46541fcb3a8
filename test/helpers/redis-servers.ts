// Real Redis deployments for the scale-out tests, started by the test itself
// from the redis-server and redis-cli on PATH (the test fails, never skips,
// when they are missing), each on free ports with its files in a temporary
// directory, and stopped at teardown: a 3-master Redis Cluster (optionally
// with one replica of its first master), and a primary with one replica
// watched by one Sentinel.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePort, type Teardownable } from './provider.js'

const run = promisify(execFile)

export interface Node {
  host: string
  port: number
}

/**
 * A redis-server process; `stop` kills it at once (as a crashed process: its
 * connections are closed), `freeze` suspends it (SIGSTOP: as a host that stopped
 * answering, its connections stay open and silent) until `stop`.
 */
export interface Server {
  port: number
  stop: () => Promise<void>
  freeze: () => void
}

async function tempDir (t: Teardownable): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fastify-oidc-redis-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  return dir
}

/** One plain client to `port`, closed at teardown. */
export async function nodeClient (t: Teardownable, port: number): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await client.connect()
  return client
}

async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function ping (port: number): Promise<boolean> {
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return await probe.ping() === 'PONG'
  } finally {
    probe.disconnect()
  }
}

/** Starts `redis-server args…` on `port` and waits until it answers PING. */
async function startServer (t: Teardownable, port: number, args: string[]): Promise<Server> {
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' })
  const failed = new Promise<never>((_resolve, reject) => child.once('error', (err) =>
    reject(new Error(`cannot start redis-server (is it installed and on PATH?): ${err.message}`))))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  t.teardown(stop)
  await Promise.race([failed, waitFor(`redis-server on port ${port}`, async () => await ping(port))])
  return { port, stop, freeze: () => { child.kill('SIGSTOP') } }
}

const QUIET = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']

export interface TestCluster {
  /** The seed nodes (every master). */
  nodes: Node[]
  /** The masters' processes, in the order of `nodes`. */
  masters: Server[]
  /** With `replica: true`: the replica of the first master (`masters[0]`). */
  replica?: Server | undefined
  /** `redis+cluster://h:p,h:p,h:p` */
  url: string
}

export interface StartClusterOptions {
  /** Add one replica to the first master, in sync before this resolves. Default false. */
  replica?: boolean | undefined
}

/** A cluster node's `redis-server` on a free port (and a free bus port), its files in `dir`. */
async function startClusterNode (t: Teardownable, dir: string): Promise<Server> {
  const [port, bus] = [await freePort(), await freePort()]
  return await startServer(t, port, [
    '--port', String(port), ...QUIET, '--dir', dir, '--cluster-enabled', 'yes', '--cluster-port', String(bus),
    '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000',
    // A replica may be promoted however long its link to the dead master has been down.
    '--cluster-replica-validity-factor', '0'
  ])
}

/**
 * A Redis Cluster of three masters, ready (`cluster_state:ok` on every node);
 * with `replica: true`, plus one replica of the first master, in sync and
 * known to every master (so that it can be promoted when that master dies).
 */
export async function startCluster (t: Teardownable, options: StartClusterOptions = {}): Promise<TestCluster> {
  const dir = await tempDir(t)
  const masters: Server[] = []
  for (let i = 0; i < 3; i++) masters.push(await startClusterNode(t, dir))
  const nodes: Node[] = masters.map((m) => ({ host: '127.0.0.1', port: m.port }))
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'])
  const clients = await Promise.all(nodes.map(async (n) => await nodeClient(t, n.port)))
  await waitFor('cluster_state:ok', async () => {
    const infos = await Promise.all(clients.map(async (c) => await c.cluster('INFO')))
    return infos.every((info) => info.includes('cluster_state:ok'))
  })
  const cluster: TestCluster = { nodes, masters, url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}` }
  if (options.replica === true) cluster.replica = await addReplica(t, dir, clients)
  return cluster
}

/** Starts a node and makes it a replica of the first of `masters` (`redis-cli --cluster add-node --cluster-slave`). */
async function addReplica (t: Teardownable, dir: string, masters: Redis[]): Promise<Server> {
  const replica = await startClusterNode(t, dir)
  const master = masters[0]!
  const masterId = String(await master.cluster('MYID'))
  const masterPort = master.options.port!
  await run('redis-cli', ['--cluster', 'add-node', `127.0.0.1:${replica.port}`, `127.0.0.1:${masterPort}`,
    '--cluster-slave', '--cluster-master-id', masterId])
  const client = await nodeClient(t, replica.port)
  await waitFor(`the replica on port ${replica.port} to sync with ${masterPort}`, async () =>
    (await client.info('replication')).includes('master_link_status:up'))
  const replicaId = String(await client.cluster('MYID'))
  await waitFor('every node to know the replica and see cluster_state:ok', async () => {
    const views = await Promise.all([...masters, client].map(async (c) => [await c.cluster('NODES'), await c.cluster('INFO')] as const))
    return views.every(([nodes, info]) => info.includes('cluster_state:ok') &&
      String(nodes).split('\n').some((line) => line.startsWith(replicaId) && line.includes(` ${masterId} `) && line.includes('slave')))
  })
  return replica
}

export interface TestSentinel {
  /** `redis+sentinel://127.0.0.1:<sentinel>/<name>` */
  url: string
  name: string
  sentinelPort: number
  primary: Server
  replica: Server
}

/**
 * A primary, one replica of it, and a Sentinel (quorum 1) that declares the
 * primary down after 500 ms and promotes the replica; its configuration lives
 * in a temporary file that Sentinel rewrites.
 */
export async function startSentinel (t: Teardownable, name = 'oidc-primary'): Promise<TestSentinel> {
  const dir = await tempDir(t)
  const [primaryPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()]
  const primary = await startServer(t, primaryPort, ['--port', String(primaryPort), ...QUIET, '--dir', dir])
  const replica = await startServer(t, replicaPort, ['--port', String(replicaPort), ...QUIET, '--dir', dir, '--replicaof', '127.0.0.1', String(primaryPort)])
  const replicaClient = await nodeClient(t, replicaPort)
  await waitFor('the replica to sync', async () => (await replicaClient.info('replication')).includes('master_link_status:up'))
  const conf = join(dir, 'sentinel.conf')
  await writeFile(conf, [
    `port ${sentinelPort}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
    `sentinel down-after-milliseconds ${name} 500`,
    `sentinel failover-timeout ${name} 3000`,
    `sentinel parallel-syncs ${name} 1`, ''
  ].join('\n'))
  await startServer(t, sentinelPort, [conf, '--sentinel'])
  const sentinel = await nodeClient(t, sentinelPort)
  await waitFor('the Sentinel to see the replica', async () => {
    const replicas = await sentinel.call('SENTINEL', 'REPLICAS', name) as unknown[]
    return replicas.length === 1
  })
  return { url: `redis+sentinel://127.0.0.1:${sentinelPort}/${name}`, name, sentinelPort, primary, replica }
}

/** Every key of every master of `nodes` matching `pattern`, with its value (strings, or set members joined). */
export async function dumpNodes (t: Teardownable, ports: number[], pattern: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>()
  for (const port of ports) {
    const client = await nodeClient(t, port)
    for (const key of await client.keys(pattern)) {
      const type = await client.type(key)
      entries.set(key, type === 'set' ? (await client.smembers(key)).join(',') : String(await client.get(key)))
    }
  }
  return entries
}
