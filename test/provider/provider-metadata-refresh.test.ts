// The provider's metadata and JWKS are refreshed every OIDC_METADATA_REFRESH
// seconds (1 here): changes are picked up without a restart, a failed refresh
// keeps the last good copy (logins go on), and closing the app stops it — and
// the discovery retries of an IdP that was down at start-up.
import t, { type Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

const DISCOVERY = '/.well-known/openid-configuration'

/** Waits until `done()` holds, at most 15 s. */
async function until (done: () => boolean): Promise<boolean> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
    if (done()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

async function start (t: Test): Promise<{ op: HostileOp, app: TestApp }> {
  const op = await startHostileOp(t)
  const app = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, env: { OIDC_METADATA_REFRESH: '1' } })
  return { op, app }
}

const loginWorks = async (baseUrl: string): Promise<boolean> =>
  (await new Browser().follow(`${baseUrl}/auth/login?returnTo=/private`)).url === `${baseUrl}/private`

t.test('a changed end-session endpoint and a moved JWKS with new keys are picked up', async (t) => {
  const { op, app } = await start(t)
  t.equal(op.requests(DISCOVERY).length, 1)
  op.metadata.end_session_endpoint = op.url('/signout')
  op.metadata.jwks_uri = op.url('/jwks?v=2')
  await op.rotateKeys()
  t.ok(await until(() => op.requests(DISCOVERY).length >= 3), 'rediscovered on schedule')
  const logout = await fetch(`${app.baseUrl}/auth/logout`, { redirect: 'manual' })
  t.match(logout.headers.get('location'), `${op.issuer}/signout?`)
  t.ok(await loginWorks(app.baseUrl), 'an ID token signed with the new key is accepted')
  t.ok(op.requests('/jwks').some((r) => r.query['v'] === '2'), 'keys from the new JWKS URI')
})

t.test('a failed refresh keeps the last good metadata and keys', async (t) => {
  const { op, app } = await start(t)
  t.ok(await loginWorks(app.baseUrl), 'keys fetched once')
  op.onDiscovery = () => ({ status: 500, body: 'down' })
  op.onJwks = () => ({ status: 500, body: 'down' })
  const [discoveries, jwks] = [op.requests(DISCOVERY).length, op.requests('/jwks').length]
  t.ok(await until(() => op.requests(DISCOVERY).length >= discoveries + 2 && op.requests('/jwks').length >= jwks + 2), 'refreshes were tried')
  t.ok(await loginWorks(app.baseUrl), 'logins go on with the last good copy')
  t.ok(app.logs.some((l) => l.includes('metadata refresh failed, keeping the last good copy')))
  t.ok(app.logs.some((l) => l.includes('JWKS refresh failed, keeping the last good copy')))
})

t.test('closing the app stops the refreshes', async (t) => {
  const { op, app } = await start(t)
  t.ok(await until(() => op.requests(DISCOVERY).length >= 2), 'refreshing')
  await app.app.close()
  // A refresh under way when the app closed may still finish its requests; none starts after.
  await new Promise((resolve) => setTimeout(resolve, 500))
  const count = op.log.length
  await new Promise((resolve) => setTimeout(resolve, 2500))
  t.equal(op.log.length, count, 'no refresh after close')
})

t.test('a discovery retry under way when the app closes schedules no other', async (t) => {
  const op = await startHostileOp(t)
  op.onDiscovery = () => ({ status: 503, body: 'starting' })
  const app = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })
  const retries = (): number => app.logs.filter((l) => l.includes('retrying discovery')).length
  t.equal(retries(), 1, 'the first attempt failed')
  op.onDiscovery = () => ({ status: 503, body: 'starting', delayMs: 1000 })
  t.ok(await until(() => op.requests(DISCOVERY).length === 2), 'a retry is under way')
  await app.app.close()
  t.ok(await until(() => retries() === 2), 'it failed after the close')
  await new Promise((resolve) => setTimeout(resolve, 2500))
  t.equal(op.requests(DISCOVERY).length, 2, 'and was not retried again')
})

t.test('a metadata refresh under way when the app closes schedules no other', async (t) => {
  const { op, app } = await start(t)
  const slow = op.requests(DISCOVERY).length + 1
  op.onDiscovery = () => ({ delayMs: 1000 })
  t.ok(await until(() => op.requests(DISCOVERY).length === slow), 'a refresh is under way')
  await app.app.close()
  await new Promise((resolve) => setTimeout(resolve, 3000))
  t.equal(op.requests(DISCOVERY).length, slow, 'it finished after the close and was not scheduled again')
})
