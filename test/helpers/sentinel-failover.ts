// The Sentinel failover drill, run by the tests of a crashed primary and of a
// frozen one: two app instances on a primary + replica watched by a Sentinel,
// all started by the test (OIDC_SESSION_STORE=redis+sentinel://…/<name>). The
// primary fails: while the Sentinel promotes the replica and the clients
// reconnect (with the failover detector, a client that already followed may be
// told once more to reconnect), requests answer 503 with Retry-After (never
// 500); then both instances follow the
// new primary by themselves (no restart), the session made before the failover
// opens on both, and logout on one ends it on the other.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import { Browser, loginAtProvider, type BrowserResponse } from './browser.js'
import { buildApp } from './build-app.js'
import { freePort, startProvider } from './provider.js'
import { nodeClient, startSentinel } from './redis-servers.js'

/** How the primary fails: `kill` (SIGKILL: its connections close) or `freeze` (SIGSTOP: they stay open and silent). */
export type PrimaryFailure = 'kill' | 'freeze'

/** Runs the drill; every check is a tap assertion of `t`. */
export async function sentinelFailoverDrill (t: Test, failure: PrimaryFailure): Promise<void> {
  const sentinel = await startSentinel(t)
  const [portA, portB] = [await freePort(), await freePort()]
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${portA}` })
  const common = { issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, env: { OIDC_SESSION_STORE: sentinel.url } }
  const a = await buildApp(t, { ...common, port: portA })
  const b = await buildApp(t, { ...common, port: portB })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${a.baseUrl}/auth/login?returnTo=/private`)
  t.same(JSON.parse(login.body), { sub: 'demo', roles: ['user'] }, 'logged in on A')
  t.equal((await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })).status, 200, 'the session opens on B')
  const primary = await nodeClient(t, sentinel.primary.port)
  t.equal(await primary.call('WAIT', '1', '2000'), 1, 'the session reached the replica')

  if (failure === 'kill') await sentinel.primary.stop()
  else sentinel.primary.freeze()
  const seen: number[] = []
  /** `send` again while it answers 503 (each with Retry-After), for up to 20 s: the switch may still be under way. */
  const settled = async (send: () => Promise<BrowserResponse>): Promise<number> => {
    const deadline = Date.now() + 20_000
    let res = await send()
    seen.push(res.status)
    while (res.status === 503 && Date.now() < deadline) {
      t.ok(Number(res.headers.get('retry-after')) > 0 && JSON.parse(res.body).code === 'FST_OIDC_SESSION_STORE_UNAVAILABLE', 'during the switch: 503 FST_OIDC_SESSION_STORE_UNAVAILABLE with Retry-After')
      await sleep(100)
      res = await send()
      seen.push(res.status)
    }
    return res.status
  }
  t.equal(await settled(async () => await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })), 200,
    'B follows the new primary: the session made before the failover opens')
  const watcher = await nodeClient(t, sentinel.sentinelPort)
  const [, port] = await watcher.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', sentinel.name) as [string, string]
  t.equal(Number(port), sentinel.replica.port, 'the replica was promoted')
  t.equal(await settled(async () => await browser.get(`${a.baseUrl}/private`, { accept: 'application/json' })), 200, 'A follows the new primary too')
  t.equal(await settled(async () => await browser.request('POST', `${a.baseUrl}/auth/logout`)), 302, 'logout on A')
  t.equal(await settled(async () => await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })), 401, 'ends the session on B')
  t.ok(seen.every((s) => s === 200 || s === 302 || s === 401 || s === 503), `only 503 besides the expected answers while the primary was switched (${[...new Set(seen)].join(', ')})`)
  t.comment(`${failure}: answers in order ${seen.join(',')}`)
  t.notOk([...a.logs, ...b.logs].some((line) => line.includes('"statusCode":500')), 'no 500 logged')
}
