// Issue 11.11: a browser sends cached Basic credentials with every request to
// the origin, a form another site posts included. Unsafe methods carrying Basic
// credentials are refused when Sec-Fetch-Site says cross-site; non-browser
// clients (no such header) and safe methods keep working.
import t from 'tap'
import { basic, startBasicApp, USERS } from '../helpers/basic.js'

const right = basic('alice', USERS.alice.password)

t.test('a cross-site POST with Basic credentials: 403 FST_OIDC_CROSS_ORIGIN_REQUEST, audited, authenticate not asked', async (t) => {
  let asked = 0
  const app = await startBasicApp(t, { authenticate: () => { asked++; return { sub: 'user:alice' } } })
  const res = await fetch(`${app.baseUrl}/basic`, { method: 'POST', headers: { authorization: right, 'sec-fetch-site': 'cross-site', accept: 'application/json' } })
  t.equal(res.status, 403)
  t.equal((await res.json() as { code: string }).code, 'FST_OIDC_CROSS_ORIGIN_REQUEST')
  t.match(app.events.at(-1), { type: 'basic_auth_failure', reason: 'cross_site' })
  t.equal(asked, 0, 'authenticate() was not asked')
})

t.test('the same POST from a non-browser client, from the same origin, or a cross-site GET: allowed', async (t) => {
  const app = await startBasicApp(t)
  const post = async (headers: Record<string, string>): Promise<number> =>
    (await fetch(`${app.baseUrl}/basic`, { method: 'POST', headers: { authorization: right, accept: 'application/json', ...headers } })).status
  t.equal(await post({}), 200, 'no Sec-Fetch-Site: not a browser')
  t.equal(await post({ 'sec-fetch-site': 'same-origin' }), 200)
  t.equal(await post({ 'sec-fetch-site': 'none' }), 200, 'typed in the address bar')
  t.equal((await app.call('/basic', { authorization: right, 'sec-fetch-site': 'cross-site' })).status, 200, 'a GET is safe')
})
