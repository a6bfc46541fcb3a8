// With an https base URL every cookie the plugin sets is `Secure`: the login
// transaction cookie, the session cookie, and the Set-Cookie headers that clear
// them. The app runs behind a TLS-terminating proxy (Fastify `trustProxy`,
// `X-Forwarded-Proto: https`); the login is driven against the hostile OP.
import Fastify from 'fastify'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import fastifyOidc, { type OidcAuditEvent } from '../../lib/index.js'
import { SESSION_SECRET } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'

const BASE_URL = 'https://app.example'
const PROXIED = { host: 'app.example', 'x-forwarded-proto': 'https' }

/** The Set-Cookie headers of a response. */
function setCookies (res: LightMyRequestResponse): string[] {
  const header = res.headers['set-cookie']
  return header === undefined ? [] : [header].flat()
}

const named = (res: LightMyRequestResponse, prefix: string): string[] => setCookies(res).filter((c) => c.startsWith(prefix))
const attributes = (cookie: string): string[] => cookie.split(/;\s*/).slice(1).map((a) => a.toLowerCase())
const nameValue = (cookie: string): string => cookie.split(';')[0]!

t.test('https base URL behind a proxy: the transaction and session cookies, set and cleared, carry Secure', async (t) => {
  const op = await startHostileOp(t)
  const events: OidcAuditEvent[] = []
  const app = Fastify({ trustProxy: true })
  t.teardown(() => app.close())
  await app.register(fastifyOidc, {
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    baseUrl: BASE_URL,
    sessionSecret: SESSION_SECRET,
    env: {},
    onAudit: (event) => { events.push(event) }
  })
  await app.ready()
  const get = async (url: string, cookie?: string): Promise<LightMyRequestResponse> => {
    const options: InjectOptions = { method: 'GET', url, headers: { ...PROXIED, ...(cookie === undefined ? {} : { cookie }) } }
    return await app.inject(options)
  }

  const login = await get('/auth/login?returnTo=/private')
  t.equal(login.statusCode, 302)
  const [tx, ...moreTx] = named(login, 'oidc.tx.')
  t.ok(tx, 'the login sets its transaction cookie')
  t.equal(moreTx.length, 0)
  t.ok(attributes(tx!).includes('secure'), `the transaction cookie is Secure: ${attributes(tx!).join('; ')}`)
  t.ok(attributes(tx!).includes('httponly'), 'and HttpOnly')

  const authorize = new URL(login.headers.location as string)
  t.equal(authorize.searchParams.get('redirect_uri'), `${BASE_URL}/auth/callback`, 'the redirect URI is on the https base URL')
  const opAnswer = await fetch(authorize, { redirect: 'manual' })
  t.equal(opAnswer.status, 302, 'the OP sends the browser back')
  const callbackUrl = new URL(opAnswer.headers.get('location')!)
  t.equal(callbackUrl.origin + callbackUrl.pathname, `${BASE_URL}/auth/callback`)

  const callback = await get(callbackUrl.pathname + callbackUrl.search, nameValue(tx!))
  t.equal(callback.statusCode, 302, 'the callback completes the login')
  t.equal(callback.headers.location, '/private')
  t.same(events.map((e) => e.type), ['login'])
  const [sid, ...moreSid] = named(callback, '__Host-oidc.sid=')
  t.ok(sid, 'the callback sets the session cookie')
  t.equal(moreSid.length, 0)
  t.ok(attributes(sid!).includes('secure'), `the session cookie is Secure: ${attributes(sid!).join('; ')}`)
  t.ok(attributes(sid!).includes('httponly'), 'and HttpOnly')
  t.ok(attributes(sid!).includes('samesite=lax'), 'and SameSite=Lax')
  t.ok(attributes(sid!).includes('path=/'), 'Path=/, as the __Host- prefix requires')
  t.notOk(attributes(sid!).some((a) => a.startsWith('domain=')), 'and no Domain')
  const clearedTx = named(callback, 'oidc.tx.')
  t.equal(clearedTx.length, 1, 'the callback clears the transaction cookie')
  t.ok(attributes(clearedTx[0]!).includes('secure'), 'with Secure, so a browser accepts the clearing')
  t.equal(op.requests('/token')[0]?.body['redirect_uri'], `${BASE_URL}/auth/callback`, 'the code was exchanged for the https redirect URI')

  const session = await get('/auth/session', nameValue(sid!))
  t.match(JSON.parse(session.body), { authenticated: true, user: { sub: 'alice' } }, 'the session cookie authenticates over the proxy')

  const logout = await get('/auth/logout', nameValue(sid!))
  t.equal(logout.statusCode, 302)
  const cleared = named(logout, '__Host-oidc.sid=')
  t.equal(cleared.length, 1, 'logout clears the session cookie')
  t.ok(attributes(cleared[0]!).includes('secure'), 'with Secure')
  t.ok(attributes(cleared[0]!).includes('path=/'), 'and Path=/ (a browser accepts the clearing of a __Host- cookie)')
})
