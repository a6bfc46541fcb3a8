// Two app instances on a primary + replica watched by a Sentinel, all started
// by this test (OIDC_SESSION_STORE=redis+sentinel://…/<name>). The primary is
// killed: while the Sentinel promotes the replica, requests answer 503 with
// Retry-After (never 500); then both instances follow the new primary by
// themselves (no restart) and the session made before the failover still
// opens on both, and logout on one ends it on the other.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'
import { nodeClient, startSentinel } from '../helpers/redis-servers.js'

t.test('a session made before a Sentinel failover opens afterwards on both instances; 503 + Retry-After during the switch', async (t) => {
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

  await sentinel.primary.stop()
  const seen: number[] = []
  const deadline = Date.now() + 20_000
  let status = 0
  while (status !== 200 && Date.now() < deadline) {
    const res = await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })
    status = res.status
    seen.push(status)
    if (status === 503) {
      t.ok(Number(res.headers.get('retry-after')) > 0 && JSON.parse(res.body).code === 'FST_OIDC_SESSION_STORE_UNAVAILABLE', 'during the switch: 503 FST_OIDC_SESSION_STORE_UNAVAILABLE with Retry-After')
    }
    if (status !== 200) await sleep(100)
  }
  t.ok(seen.every((s) => s === 200 || s === 503), `only 200 or 503 while the primary was switched (${[...new Set(seen)].join(', ')})`)
  t.equal(status, 200, 'B follows the new primary: the session made before the failover opens')
  const watcher = await nodeClient(t, sentinel.sentinelPort)
  const [, port] = await watcher.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', sentinel.name) as [string, string]
  t.equal(Number(port), sentinel.replica.port, 'the replica was promoted')

  let onA = 0
  for (let i = 0; i < 100 && onA !== 200; i++) {
    onA = (await browser.get(`${a.baseUrl}/private`, { accept: 'application/json' })).status
    if (onA !== 200) await sleep(100)
  }
  t.equal(onA, 200, 'A follows the new primary too')
  t.equal((await browser.request('POST', `${a.baseUrl}/auth/logout`)).status, 302, 'logout on A')
  t.equal((await browser.get(`${b.baseUrl}/private`, { accept: 'application/json' })).status, 401, 'ends the session on B')
  t.notOk([...a.logs, ...b.logs].some((line) => line.includes('"statusCode":500')), 'no 500 logged')
})
