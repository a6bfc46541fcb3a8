// An https base URL (Secure cookies) while the callback arrives over plain http:
// the Secure session cookie would be dropped by the browser and the user sent
// round in circles, so the callback answers 400 FST_OIDC_INSECURE_TRANSPORT (a
// login_failure with reason insecure_transport) before the code is exchanged.
// Behind a TLS-terminating proxy, Fastify's trustProxy and X-Forwarded-Proto:
// https let the login complete; without trustProxy the header is not believed.
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fastifyOidc, { type OidcAuditEvent } from '../../lib/index.js'
import { Browser, type BrowserResponse } from '../helpers/browser.js'
import { SESSION_SECRET } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

interface HttpsApp {
  /** Where the app really listens: http. */
  httpUrl: string
  events: OidcAuditEvent[]
}

/** The plugin with base URL https://127.0.0.1:<port>, listening over http on that port. */
async function startApp (t: Test, op: HostileOp, trustProxy: boolean): Promise<HttpsApp> {
  const port = await freePort()
  const events: OidcAuditEvent[] = []
  const app = Fastify({ trustProxy })
  t.teardown(() => app.close())
  await app.register(fastifyOidc, {
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    baseUrl: `https://127.0.0.1:${port}`,
    sessionSecret: SESSION_SECRET,
    env: {},
    onAudit: (event) => { events.push(event) }
  })
  await app.listen({ port, host: '127.0.0.1' })
  return { httpUrl: `http://127.0.0.1:${port}`, events }
}

/**
 * Starts a login and lets the OP answer: the callback URL (made http, where the
 * app listens) and the transaction cookie, which the test sends itself — it is
 * Secure, so a browser would not send it over http.
 */
async function toCallback (app: HttpsApp, browser: Browser): Promise<{ callback: string, cookie: string }> {
  const login = await browser.get(`${app.httpUrl}/auth/login`)
  const setCookie = login.headers.getSetCookie().find((c) => c.startsWith('oidc.tx.'))!
  const authorize = await browser.get(login.hops[0]!.location!)
  const callback = new URL(authorize.hops[0]!.location!)
  callback.protocol = 'http:'
  return { callback: callback.href, cookie: setCookie.slice(0, setCookie.indexOf(';')) }
}

const sessionCookie = (res: BrowserResponse): string | undefined => res.headers.getSetCookie().find((c) => c.startsWith('__Host-oidc.sid='))

t.test('the transaction cookie of an https base URL is Secure', async (t) => {
  const op = await startHostileOp(t)
  const app = await startApp(t, op, false)
  const login = await new Browser().get(`${app.httpUrl}/auth/login`)
  t.equal(new URL(login.hops[0]!.location!).searchParams.get('redirect_uri'), `https://127.0.0.1:${new URL(app.httpUrl).port}/auth/callback`)
  t.match(login.headers.getSetCookie().find((c) => c.startsWith('oidc.tx.')), /; Secure/)
})

t.test('https base URL, callback over http: 400 FST_OIDC_INSECURE_TRANSPORT, the code is not exchanged', async (t) => {
  const op = await startHostileOp(t)
  const app = await startApp(t, op, false)
  const browser = new Browser()
  const { callback, cookie } = await toCallback(app, browser)

  for (const headers of [{ cookie }, { cookie, 'x-forwarded-proto': 'https' }] as Array<Record<string, string>>) {
    const mark = app.events.length
    const res = await browser.get(callback, { ...headers, accept: 'application/json' })
    const label = 'x-forwarded-proto' in headers ? 'X-Forwarded-Proto without trustProxy' : 'plain http'
    t.equal(res.status, 400, `${label}: 400`)
    t.match(JSON.parse(res.body), { statusCode: 400, code: 'FST_OIDC_INSECURE_TRANSPORT' })
    t.same(app.events.slice(mark).map((e) => [e.type, e.reason]), [['login_failure', 'insecure_transport']], `${label}: one login_failure`)
    t.equal(sessionCookie(res), undefined, `${label}: no session cookie`)
    t.notOk(res.body.includes(new URL(callback).searchParams.get('code')!), 'the code is not in the answer')
  }
  t.same(op.requests('/token'), [], 'the token endpoint was never called')
})

t.test('trustProxy and X-Forwarded-Proto: https -> the login completes', async (t) => {
  const op = await startHostileOp(t)
  const app = await startApp(t, op, true)
  const browser = new Browser()
  const { callback, cookie } = await toCallback(app, browser)

  const plain = await browser.get(callback, { cookie, accept: 'application/json' })
  t.equal(JSON.parse(plain.body).code, 'FST_OIDC_INSECURE_TRANSPORT', 'trustProxy alone, no header: still refused')

  const res = await browser.get(callback, { cookie, 'x-forwarded-proto': 'https' })
  t.equal(res.status, 302, 'the callback redirects')
  t.equal(res.headers.get('location'), '/')
  t.match(sessionCookie(res), /; Secure/, 'a Secure session cookie is set')
  t.same(app.events.map((e) => [e.type, e.reason ?? e.sub]), [['login_failure', 'insecure_transport'], ['login', op.user.sub]])
  t.equal(op.requests('/token').length, 1, 'the code was exchanged once')
})
