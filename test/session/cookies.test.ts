// What the browser holds: one signed session id with the right flags, never
// a token; forged ids authenticate nothing; the id changes at login; nothing
// is stored for anonymous visitors or for a login that has not completed.
import type { Session } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import t from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { cookieSigningSecrets } from '../../lib/session/keys.js'
import { Browser, loginAtProvider, type BrowserResponse } from '../helpers/browser.js'
import { buildApp, SESSION_SECRET, type TestApp } from '../helpers/build-app.js'
import { recordIssuedTokens, type IssuedTokens } from '../helpers/issued-tokens.js'
import { freePort, startProvider, type TestProvider, type Teardownable } from '../helpers/provider.js'

/** A browser that keeps every response it received. */
class RecordingBrowser extends Browser {
  readonly responses: BrowserResponse[] = []

  override async request (...args: Parameters<Browser['request']>): Promise<BrowserResponse> {
    const response = await super.request(...args)
    this.responses.push(response)
    return response
  }
}

/** The plugin's own memory store, remembering every write. */
class RecordingStore extends MemoryStore {
  readonly writes: Array<{ id: string, data: string }> = []

  override set (sessionId: string, session: Session, callback: (err?: unknown) => void): void {
    this.writes.push({ id: sessionId, data: JSON.stringify(session) })
    super.set(sessionId, session, callback)
  }
}

interface Setup extends TestApp {
  idp: TestProvider
  store: RecordingStore
  issued: IssuedTokens[]
}

async function setup (t: Teardownable): Promise<Setup> {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const issued = recordIssuedTokens(idp)
  const store = new RecordingStore()
  const app = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store })
  return { ...app, idp, store, issued }
}

/** Set-Cookie headers of a response for the cookie `name`. */
function setCookies (response: BrowserResponse, name: string): string[] {
  return response.headers.getSetCookie().filter((c) => c.startsWith(`${name}=`))
}

const JWT = /eyJ[\w-]{8,}\.[\w-]{8,}/

t.jobs = 4

t.test('after login the browser holds one signed session id with HttpOnly, SameSite=Lax, Path=/, no Secure over http', async (t) => {
  const { baseUrl, store, issued } = await setup(t)
  const browser = new RecordingBrowser()
  const final = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200)

  const callback = browser.responses.find((r) => r.url.startsWith(`${baseUrl}/auth/callback`))!
  const [sessionCookie, ...more] = setCookies(callback, 'oidc.sid')
  t.ok(sessionCookie, 'the callback sets oidc.sid')
  t.equal(more.length, 0, 'once')
  const attributes = sessionCookie!.split(/;\s*/).slice(1).map((a) => a.toLowerCase())
  t.ok(attributes.includes('httponly'), 'HttpOnly')
  t.ok(attributes.includes('samesite=lax'), 'SameSite=Lax')
  t.ok(attributes.includes('path=/'), 'Path=/')
  t.notOk(attributes.some((a) => a === 'secure'), 'no Secure: the base URL is http://127.0.0.1')
  t.ok(sessionCookie!.length < 4096, `under 4 KB (${sessionCookie!.length} bytes)`)
  t.ok(sessionCookie!.length < 200, 'an id and its signature only')

  const value = decodeURIComponent(sessionCookie!.split(';')[0]!.slice('oidc.sid='.length))
  const unsigned = fastifyCookie.unsign(value, cookieSigningSecrets([SESSION_SECRET])[0]!)
  t.equal(unsigned.valid, true, 'the value is a signed id')
  t.ok(store.writes.some((w) => w.id === unsigned.value), 'naming a session in the store')

  // Use the session a little, then look at everything the app ever sent.
  await browser.get(`${baseUrl}/auth/session`)
  await browser.get(`${baseUrl}/token`, { accept: 'application/json' })
  await browser.get(`${baseUrl}/private`, { accept: 'text/html' })
  t.equal(issued.length, 1, 'the IdP issued one token set')
  const secrets = Object.entries(issued[0]!).filter(([key]) => key !== 'grantType').map(([, v]) => v as string)
  t.equal(secrets.length, 3, 'access, refresh and ID token')
  const fromApp = browser.responses.filter((r) => r.url.startsWith(baseUrl))
  t.ok(fromApp.length >= 6, `${fromApp.length} answers from the app`)
  for (const response of fromApp) {
    const visible = [response.body, ...response.headers.getSetCookie(), response.headers.get('location') ?? ''].join('\n')
    t.notMatch(visible, JWT, `no JWT in ${response.url.slice(baseUrl.length)}`)
    t.notOk(secrets.some((s) => visible.includes(s)), `no issued token in ${response.url.slice(baseUrl.length)}`)
  }
  for (const write of store.writes) {
    t.notOk(secrets.some((s) => write.data.includes(s)), 'no readable token in the session store')
    t.notMatch(write.data, /demo@example\.com/, 'no readable claim in the session store')
  }
})

t.test('a forged, garbage or tampered oidc.sid cookie is anonymous, never a 500', async (t) => {
  const { idp, baseUrl } = await setup(t)
  const browser = new Browser()
  await loginAtProvider(browser, `${baseUrl}/auth/login`, { login: 'demo' })
  const real = decodeURIComponent((await browser.cookies(baseUrl))['oidc.sid']!)
  const [id, signature] = [real.slice(0, real.lastIndexOf('.')), real.slice(real.lastIndexOf('.') + 1)]
  const flip = (s: string): string => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1)
  const [signingKey] = cookieSigningSecrets([SESSION_SECRET])
  const forged: Record<string, string> = {
    garbage: 'garbage',
    empty: '',
    'unsigned id': id,
    'tampered signature': `${id}.${flip(signature)}`,
    'tampered id': `${flip(id)}.${signature}`,
    'signed with another secret': fastifyCookie.sign(id, 'another-secret-0123456789-abcdefghijklmnop'),
    'validly signed unknown id': fastifyCookie.sign('x'.repeat(32), signingKey!),
    'percent garbage': '%E0%A4%A',
    'very long': 'a'.repeat(3000),
    'control characters': encodeURIComponent('\u0000\u0001.\n')
  }
  for (const [name, value] of Object.entries(forged)) {
    const cookie = `oidc.sid=${name === 'percent garbage' || name === 'very long' || name === 'control characters' ? value : encodeURIComponent(value)}`
    const session = await fetch(`${baseUrl}/auth/session`, { headers: { cookie } })
    t.equal(session.status, 200, `${name}: /auth/session 200`)
    t.match(await session.json(), { authenticated: false, user: null }, `${name}: anonymous`)
    const guarded = await fetch(`${baseUrl}/private`, { headers: { cookie, accept: 'application/json' } })
    t.equal(guarded.status, 401, `${name}: /private 401`)
    t.equal((await guarded.json() as { code: string }).code, 'FST_OIDC_UNAUTHENTICATED')
  }
  const session = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body)
  t.equal(session.authenticated, true, 'the real cookie still works')
  t.equal(idp.countGrants('refresh_token'), 0)
})

t.test('the session id changes at login: a planted cookie is not the one after login', async (t) => {
  const { baseUrl } = await setup(t)
  // The attacker signs in and plants their own session cookie in the victim's browser.
  const attacker = new Browser()
  await loginAtProvider(attacker, `${baseUrl}/auth/login`, { login: 'mallory' })
  const planted = (await attacker.cookies(baseUrl))['oidc.sid']!
  t.equal(JSON.parse((await attacker.get(`${baseUrl}/auth/session`)).body).user.sub, 'mallory')

  const victim = new Browser()
  await victim.jar.setCookie(`oidc.sid=${planted}; Path=/; HttpOnly; SameSite=Lax`, baseUrl)
  const final = await loginAtProvider(victim, `${baseUrl}/auth/login?returnTo=/private`, { login: 'demo' })
  t.equal(final.status, 200)
  t.equal(JSON.parse(final.body).sub, 'demo')
  const after = (await victim.cookies(baseUrl))['oidc.sid']
  t.ok(after, 'the victim has a session cookie')
  t.not(after, planted, 'a new session id after login')
  const plantedSession = await fetch(`${baseUrl}/auth/session`, { headers: { cookie: `oidc.sid=${planted}` } })
  t.not((await plantedSession.json() as { user: { sub: string } | null }).user?.sub, 'demo', 'the planted id does not carry the victim\'s login')

  // A planted garbage value is replaced too.
  const other = new Browser()
  await other.jar.setCookie('oidc.sid=planted-value; Path=/', baseUrl)
  await loginAtProvider(other, `${baseUrl}/auth/login`, { login: 'demo' })
  const replaced = (await other.cookies(baseUrl))['oidc.sid']
  t.ok(replaced !== undefined && replaced !== 'planted-value', 'the garbage value is replaced')
})

t.test('/auth/login and anonymous pages set no session cookie and write nothing to the store', async (t) => {
  const { baseUrl, store } = await setup(t)
  const browser = new Browser()
  const publicRes = await browser.get(`${baseUrl}/public`)
  t.equal(publicRes.status, 200)
  t.same(publicRes.headers.getSetCookie(), [], '/public sets no cookie')
  const sessionRes = await browser.get(`${baseUrl}/auth/session`)
  t.same(sessionRes.headers.getSetCookie(), [], '/auth/session sets no cookie')
  const privateRes = await browser.get(`${baseUrl}/private`, { accept: 'application/json' })
  t.equal(privateRes.status, 401)
  t.same(privateRes.headers.getSetCookie(), [], 'a refused /private sets no cookie')

  const login = await browser.get(`${baseUrl}/auth/login?returnTo=/private`)
  t.equal(login.status, 302)
  t.same(setCookies(login, 'oidc.sid'), [], '/auth/login sets no oidc.sid')
  const tx = login.headers.getSetCookie()
  t.equal(tx.length, 1, 'one cookie: the login transaction')
  t.match(tx[0], /^oidc\.tx\.[\w-]+=/)
  t.match(tx[0], /;\s*HttpOnly/i)
  t.match(tx[0], /;\s*Path=\/auth(;|$)/i, 'sent to the plugin routes only')
  t.notMatch(tx[0], /;\s*Secure/i)
  t.equal(store.writes.length, 0, 'nothing written to the session store')
  t.equal(store.size, 0, 'the store is empty')
})
