// The Redis Cluster master failover drill, run by the tests of a crashed
// master and of a frozen one: three masters, the first with one replica, two
// app instances (A names the cluster by OIDC_SESSION_STORE=redis+cluster://…,
// B is handed a RedisStore on the app's own ioredis Cluster client). One
// session lands on the master that has the replica, another (the bystander) on
// another master; then that master fails. While the cluster promotes the
// replica, every request answers 200 or 503 FST_OIDC_SESSION_STORE_UNAVAILABLE
// with Retry-After (never 500, never a hang); afterwards both instances follow
// the new master by themselves (no restart), both sessions open on both, and a
// new login works.
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster, type ClusterOptions, type Redis } from 'ioredis'
import type { Test } from 'tap'
import { RedisStore } from '../../lib/index.js'
import { Browser, loginAtProvider, type BrowserResponse } from './browser.js'
import { buildApp, type TestApp } from './build-app.js'
import { freePort, startProvider } from './provider.js'
import { nodeClient, startCluster } from './redis-servers.js'

export interface ClusterFailoverDrill {
  /** How the master fails: `kill` (SIGKILL: its connections close) or `freeze` (SIGSTOP: they stay open and silent). */
  failure: 'kill' | 'freeze'
  /** The options of instance B's own `Cluster` client. */
  clientOptions: ClusterOptions
}

/** How long the cluster may take to promote the replica, and each instance to follow it (a loaded machine included). */
const SWITCH_MS = 30_000
/** A request that takes longer than this is a hang, not a slow answer. */
const REQUEST_MS = 15_000
/** Logins tried to get a session on the doomed master and one elsewhere (each lands on a random slot). */
const LOGINS = 40

async function within (what: string, request: Promise<BrowserResponse>): Promise<BrowserResponse> {
  const timer = new AbortController()
  try {
    return await Promise.race([request, sleep(REQUEST_MS, undefined, { signal: timer.signal }).then(() => {
      throw new Error(`${what} did not answer within ${REQUEST_MS} ms`)
    })])
  } finally {
    timer.abort()
  }
}

/** The session key behind the browser's signed cookie for `app`. */
async function sessionKey (browser: Browser, app: TestApp): Promise<string> {
  const cookie = (await browser.cookies(app.baseUrl))['oidc.sid']
  if (cookie === undefined) throw new Error('no session cookie after login')
  return `fastify-oidc:{${decodeURIComponent(cookie).replace(/\.[^.]*$/, '')}}:sess`
}

/** The port of the master that serves `key`'s slot, as `admin` (any node) sees the cluster. */
async function ownerOf (admin: Redis, key: string): Promise<number> {
  const slot = Number(await admin.cluster('KEYSLOT', key))
  const range = (await admin.cluster('SLOTS')).find(([from, to]) => from <= slot && slot <= to)
  const master = range?.[2]
  if (master === undefined) throw new Error(`no master serves slot ${slot}`)
  return Number(master[1])
}

/** Runs the drill; every check is a tap assertion of `t`. */
export async function clusterFailoverDrill (t: Test, drill: ClusterFailoverDrill): Promise<void> {
  const cluster = await startCluster(t, { replica: true })
  const [doomed, replica] = [cluster.masters[0]!, cluster.replica!]
  const admin = await nodeClient(t, cluster.nodes[1]!.port)
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}` })
  const common = { issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret }
  const a = await buildApp(t, { ...common, port: portA, env: { OIDC_SESSION_STORE: cluster.url } })
  const client = new Cluster(cluster.nodes, drill.clientOptions)
  t.teardown(() => client.disconnect())
  const b = await buildApp(t, { ...common, port: portB, sessionStore: new RedisStore({ client }) })

  let moved: Browser | undefined
  let bystander: Browser | undefined
  for (let i = 0; i < LOGINS && (moved === undefined || bystander === undefined); i++) {
    const browser = new Browser()
    const login = await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/private`)
    if (login.status !== 200) throw new Error(`login ${i} failed: ${login.status} ${login.url}`)
    if (await ownerOf(admin, await sessionKey(browser, a)) === doomed.port) moved ??= browser
    else bystander ??= browser
  }
  if (moved === undefined || bystander === undefined) throw new Error(`${LOGINS} logins did not give a session on the master with the replica and one elsewhere`)
  const sessions = [['the moved session', moved], ['the bystander session', bystander]] as const
  for (const [name, browser] of sessions) t.equal((await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })).status, 200, `${name} opens on B`)
  t.equal(await (await nodeClient(t, doomed.port)).call('WAIT', '1', '2000'), 1, 'the moved session reached the replica')

  if (drill.failure === 'kill') await doomed.stop()
  else doomed.freeze()
  const failedAt = Date.now()
  const seen: number[] = []
  const refused = new Map<string, number>()
  const ask = async (app: TestApp, appName: string, browser: Browser, name: string): Promise<number> => {
    const res = await within(`${appName} (${name}) during the failover`, browser.get(`${app.baseUrl}/private`, { accept: 'application/json' }))
    seen.push(res.status)
    if (res.status !== 200) refused.set(name, (refused.get(name) ?? 0) + 1)
    if (res.status === 503) {
      t.ok(Number(res.headers.get('retry-after')) > 0 && JSON.parse(res.body).code === 'FST_OIDC_SESSION_STORE_UNAVAILABLE',
        `${appName} (${name}) during the switch: 503 FST_OIDC_SESSION_STORE_UNAVAILABLE with Retry-After`)
    }
    return res.status
  }
  const rounds = [[a, 'A', ...sessions[0]], [b, 'B', ...sessions[0]], [a, 'A', ...sessions[1]], [b, 'B', ...sessions[1]]] as const
  const newMaster = await nodeClient(t, replica.port)
  const promoted = async (): Promise<boolean> => {
    const [role, state, seenByOthers] = await Promise.all([newMaster.info('replication'), newMaster.cluster('INFO'), admin.cluster('INFO')])
    return role.includes('role:master') && state.includes('cluster_state:ok') && seenByOthers.includes('cluster_state:ok')
  }
  for (let i = 0; !await promoted().catch(() => false); i++) {
    if (Date.now() - failedAt > SWITCH_MS) throw new Error(`the replica was not promoted within ${SWITCH_MS} ms (statuses seen: ${seen.join(',')})`)
    const [app, appName, name, browser] = rounds[i % rounds.length]!
    await ask(app, appName, browser, name)
    await sleep(100)
  }
  t.pass('the replica was promoted')
  t.equal(await ownerOf(admin, await sessionKey(moved, a)), replica.port, 'it serves the moved session\'s slot')

  let followed = 0
  for (const [app, appName, name, browser] of rounds) {
    const startedAt = Date.now()
    let status = 0
    while (status !== 200 && Date.now() - startedAt < SWITCH_MS) {
      status = await ask(app, appName, browser, name)
      if (status !== 200) await sleep(100)
    }
    t.equal(status, 200, `${appName} follows the new master: ${name}, made before the failover, opens`)
    followed = Date.now() - failedAt
  }
  t.ok(seen.every((s) => s === 200 || s === 503), `only 200 or 503 while the master was switched (${[...new Set(seen)].join(', ')})`)
  t.comment(`${drill.failure}: ${seen.length} requests, refused: ${JSON.stringify(Object.fromEntries(refused))}; every session open on both instances ${followed} ms after the failure`)

  const fresh = new Browser()
  const login = await loginAtProvider(fresh, `${a.baseUrl}/auth/login?returnTo=/private`)
  t.same(JSON.parse(login.body), { sub: 'demo', roles: ['user'] }, 'a new login works on A')
  t.equal((await fresh.get(`${b.baseUrl}/private`, { accept: 'application/json' })).status, 200, 'and opens on B')
  t.notOk([...a.logs, ...b.logs].some((line) => line.includes('"statusCode":500')), 'no 500 logged')
}
