// Two instances behind one URL, sharing one Redis: a login's state is single-use
// across them. A callback replayed on the second instance with the browser's login
// cookie (as captured, or sent twice by a flaky proxy) is refused with 400
// FST_OIDC_STATE_REPLAYED before any token request: the IdP sees one code exchange
// (a second one would make an IdP that enforces single-use codes revoke the tokens
// of the victim's login).
import t, { type Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp, type TestApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { redisStore, uniquePrefix } from '../helpers/redis.js'

interface Pair { op: HostileOp, a: TestApp, b: TestApp, browser: Browser }

/** Instances A and B on their own ports, both with A's URL as their base URL (one public URL), on one Redis prefix. */
async function pair (t: Test): Promise<Pair> {
  const op = await startHostileOp(t)
  const prefix = uniquePrefix()
  const portA = await freePort()
  const start = async (port: number): Promise<TestApp> => await buildApp(t, {
    port,
    baseUrl: `http://127.0.0.1:${portA}`,
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    sessionStore: redisStore(t, prefix)
  })
  return { op, a: await start(portA), b: await start(await freePort()), browser: new Browser() }
}

/** The callback URL the IdP sent the browser to, and the browser's cookies for it (with the login transaction). */
async function reachCallback ({ a, browser }: Pair): Promise<{ callback: URL, cookie: string }> {
  const res = await browser.follow(`${a.baseUrl}/auth/login?returnTo=/public`, { stopAt: (url) => url.pathname === '/auth/callback' })
  const callback = new URL(res.stoppedAt!)
  const cookie = await browser.jar.getCookieString(callback.href)
  return { callback, cookie }
}

/** The callback's path and query sent to an instance with `cookie`. */
async function callbackOn (app: TestApp, callback: URL, cookie: string): Promise<Response> {
  return await fetch(`${app.baseUrl}${callback.pathname}${callback.search}`, {
    headers: { cookie, accept: 'application/json' },
    redirect: 'manual'
  })
}

const codeExchanges = (op: HostileOp): number => op.requests('/token').filter((r) => r.body['grant_type'] === 'authorization_code').length

t.test('a callback completed on A and replayed on B: 400 FST_OIDC_STATE_REPLAYED, one code exchange', async (t) => {
  const p = await pair(t)
  const { callback, cookie } = await reachCallback(p)
  t.match(cookie, /oidc\.tx\./, 'the browser holds the login transaction')

  const first = await callbackOn(p.a, callback, cookie)
  t.equal(first.status, 302, 'A completes the login')
  t.equal(first.headers.get('location'), '/public')

  const replay = await callbackOn(p.b, callback, cookie)
  t.equal(replay.status, 400)
  t.equal((await replay.json() as { code: string }).code, 'FST_OIDC_STATE_REPLAYED')
  t.notOk(replay.headers.getSetCookie().some((c) => c.startsWith('oidc.sid=')), 'no session')
  t.same(p.b.events.map((e) => [e.type, e.reason]), [['login_failure', 'state_replayed']])
  t.equal(codeExchanges(p.op), 1, 'the IdP saw one code exchange')
})

t.test('the same callback sent to A and B at once: one login, one refusal, one code exchange', async (t) => {
  const p = await pair(t)
  const { callback, cookie } = await reachCallback(p)
  const answers = await Promise.all([callbackOn(p.a, callback, cookie), callbackOn(p.b, callback, cookie)])
  t.same(answers.map((r) => r.status).sort(), [302, 400])
  t.equal(codeExchanges(p.op), 1, 'the IdP saw one code exchange')
  t.same([...p.a.events, ...p.b.events].map((e) => e.type).sort(), ['login', 'login_failure'])
})
