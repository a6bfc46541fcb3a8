// Mix-up defence with two providers (RFC 9700 4.4): each provider has its own
// redirect URI and a login completes only at the callback of the provider it was
// started at. A response from B to a flow started at A — at B's callback, or at
// A's with B's iss — is refused with 400 before any token request, leaving no
// session; the honest flows of both providers complete; a slow token endpoint of
// one provider answers 504 within the time-out.
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { twoProviders, type TwoProviders } from '../helpers/two-providers.js'

/** Starts a login at `provider` and reads its state and redirect URI off the authorization request, without following it. */
async function startLogin (setup: TwoProviders, browser: Browser, provider: string): Promise<{ state: string, redirectUri: string }> {
  const res = await browser.get(`${setup.baseUrl}/auth/login?provider=${provider}`)
  const params = new URL(res.headers.get('location')!).searchParams
  return { state: params.get('state')!, redirectUri: params.get('redirect_uri')! }
}

/** GETs a callback and resolves to its status, error code and audit events. */
async function callback (setup: TwoProviders, browser: Browser, path: string, params: Record<string, string>): Promise<{ status: number, code: string | undefined, events: Array<[string, string | undefined, string | undefined]> }> {
  const mark = setup.events.length
  const res = await browser.get(`${setup.baseUrl}${path}?${new URLSearchParams(params)}`, { accept: 'application/json' })
  const body = res.status >= 400 ? JSON.parse(res.body) as { code: string } : undefined
  return { status: res.status, code: body?.code, events: setup.events.slice(mark).map((e) => [e.type, e.provider, e.reason]) }
}

const tokenRequests = (setup: TwoProviders): number => setup.a.requests('/token').length + setup.b.requests('/token').length

t.test('each provider its own redirect URI; /auth/login?provider= picks it (default: the first)', async (t) => {
  const setup = await twoProviders(t)
  const browser = new Browser()
  t.equal((await startLogin(setup, browser, 'a')).redirectUri, `${setup.baseUrl}/auth/callback`)
  t.equal((await startLogin(setup, browser, 'b')).redirectUri, `${setup.baseUrl}/auth/callback/b`)
  const byDefault = await browser.get(`${setup.baseUrl}/auth/login`)
  t.match(byDefault.headers.get('location'), `${setup.a.issuer}/authorize?`)
  const unknown = await browser.get(`${setup.baseUrl}/auth/login?provider=c`, { accept: 'application/json' })
  t.match(JSON.parse(unknown.body), { statusCode: 400, code: 'FST_OIDC_UNKNOWN_PROVIDER' })
  t.equal((await browser.get(`${setup.baseUrl}/auth/callback/a`)).status, 404, 'the default provider has no named callback')
})

t.test('B answers a flow started at A at its own callback: 400 FST_OIDC_PROVIDER_MISMATCH, no token request', async (t) => {
  const setup = await twoProviders(t)
  const browser = new Browser()
  const { state } = await startLogin(setup, browser, 'a')
  const code = setup.b.mintCode({ redirect_uri: `${setup.baseUrl}/auth/callback/b`, state })
  const res = await callback(setup, browser, '/auth/callback/b', { code, state, iss: setup.b.issuer })
  t.same(res, { status: 400, code: 'FST_OIDC_PROVIDER_MISMATCH', events: [['login_failure', 'b', 'provider_mismatch']] })
  t.equal(tokenRequests(setup), 0, 'no code was sent anywhere')
  const session = await browser.get(`${setup.baseUrl}/auth/session`)
  t.equal(JSON.parse(session.body).authenticated, false)
  // The login is spent: A's own answer for it cannot be used any more either.
  const late = await callback(setup, browser, '/auth/callback', { code: 'a-code', state, iss: setup.a.issuer })
  t.same([late.status, late.code], [400, 'FST_OIDC_STATE_REPLAYED'])
  t.equal(tokenRequests(setup), 0)
})

t.test('B answers a flow started at A at A\'s callback: its iss gives it away (400, no token request)', async (t) => {
  const setup = await twoProviders(t)
  const browser = new Browser()
  const { state } = await startLogin(setup, browser, 'a')
  const code = setup.b.mintCode({ redirect_uri: `${setup.baseUrl}/auth/callback`, state })
  const res = await callback(setup, browser, '/auth/callback', { code, state, iss: setup.b.issuer })
  t.same(res, { status: 400, code: 'FST_OIDC_ISS_MISMATCH', events: [['login_failure', 'a', 'iss_mismatch']] })
  const { state: again } = await startLogin(setup, browser, 'a')
  const silent = await callback(setup, browser, '/auth/callback', { code, state: again })
  t.same(silent, { status: 400, code: 'FST_OIDC_ISS_MISMATCH', events: [['login_failure', 'a', 'iss_missing']] }, 'A advertises iss: without one, refused too')
  t.equal(tokenRequests(setup), 0)
})

t.test('A answers a flow started at B at A\'s callback: 400 FST_OIDC_PROVIDER_MISMATCH, no token request', async (t) => {
  const setup = await twoProviders(t)
  const browser = new Browser()
  const { state } = await startLogin(setup, browser, 'b')
  const code = setup.a.mintCode({ redirect_uri: `${setup.baseUrl}/auth/callback`, state })
  const res = await callback(setup, browser, '/auth/callback', { code, state, iss: setup.a.issuer })
  t.same(res, { status: 400, code: 'FST_OIDC_PROVIDER_MISMATCH', events: [['login_failure', 'a', 'provider_mismatch']] })
  t.equal(tokenRequests(setup), 0)
})

t.test('the honest flows of both providers complete, each at its own IdP', async (t) => {
  const setup = await twoProviders(t)
  for (const [name, op, other] of [['a', setup.a, setup.b], ['b', setup.b, setup.a]] as const) {
    const browser = new Browser()
    const mark = setup.events.length
    const res = await browser.follow(`${setup.baseUrl}/auth/login?provider=${name}&returnTo=/private`)
    t.equal(res.url, `${setup.baseUrl}/private`, `${name}: back on the page`)
    t.same(setup.events.slice(mark).map((e) => [e.type, e.provider, e.sub]), [['login', name, 'alice']])
    t.equal(op.requests('/token').length, 1, `${name}: the code went to its own IdP`)
    t.equal(other.requests('/authorize').length, name === 'a' ? 0 : 1, 'and nothing else to the other')
  }
})

t.test('a token endpoint slower than httpTimeout at one provider: 504 for its callback, within the time-out', async (t) => {
  const setup = await twoProviders(t, { httpTimeout: 300 })
  setup.b.onToken = () => ({ delayMs: 5000 })
  const browser = new Browser()
  const started = Date.now()
  const res = await browser.follow(`${setup.baseUrl}/auth/login?provider=b`, { stopAt: () => false })
  t.equal(res.status, 504)
  t.match(JSON.parse(res.body), { code: 'FST_OIDC_IDP_TIMEOUT' })
  t.ok(Date.now() - started < 3000, 'answered after about the time-out')
  t.same(setup.events.map((e) => [e.type, e.provider, e.reason]), [['login_failure', 'b', 'idp_timeout']])
  const other = await new Browser().follow(`${setup.baseUrl}/auth/login?provider=a&returnTo=/private`)
  t.equal(other.status, 200, 'the other provider is not affected')
})
