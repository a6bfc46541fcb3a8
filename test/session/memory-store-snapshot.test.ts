// What the default memory store holds after a real login (and a refresh)
// against oidc-provider: plain JSON snapshots, as a shared store would hold —
// not the live session object with its symbol-keyed references to the request
// and the store — and no token the IdP issued, in clear, anywhere in them.
import type { Session } from 'fastify'
import t from 'tap'
import { MemoryStore } from '../../lib/index.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { recordIssuedTokens } from '../helpers/issued-tokens.js'
import { freePort, startProvider } from '../helpers/provider.js'

/** The plugin's memory store, remembering the ids it was given. */
class ListedStore extends MemoryStore {
  readonly ids = new Set<string>()

  override set (sessionId: string, session: Session, callback: (err?: unknown) => void): void {
    this.ids.add(sessionId)
    super.set(sessionId, session, callback)
  }

  override destroy (sessionId: string, callback: (err?: unknown) => void): void {
    this.ids.delete(sessionId)
    super.destroy(sessionId, callback)
  }

  /** Every value held, as `get` answers it. */
  async entries (): Promise<unknown[]> {
    const values = await Promise.all([...this.ids].map(async (id) => await new Promise<unknown>((resolve, reject) => {
      this.get(id, (err, value) => err ? reject(err) : resolve(value))
    })))
    return values.filter((v) => v !== null && v !== undefined)
  }
}

/** Paths inside `value` that are not plain JSON data: symbol keys, class instances, functions, undefined. */
function notPlain (value: unknown, path = '$'): string[] {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return []
  if (typeof value !== 'object') return [`${path}: ${typeof value}`]
  const problems: string[] = []
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== Array.prototype) problems.push(`${path}: an instance of ${(proto as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'null prototype'}`)
  for (const symbol of Object.getOwnPropertySymbols(value)) problems.push(`${path}[${String(symbol)}]`)
  for (const [key, inner] of Object.entries(value)) problems.push(...notPlain(inner, `${path}.${key}`))
  return problems
}

t.test('after login and after a refresh, the store holds plain JSON without any issued token', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const issued = recordIssuedTokens(idp)
  const store = new ListedStore()
  const { baseUrl } = await buildApp(t, { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store })
  const browser = new Browser()

  const final = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200, 'logged in')
  const refreshed = await browser.post(`${baseUrl}/auth/refresh`, {}, { accept: 'application/json' })
  t.equal(refreshed.status, 200, 'refreshed')
  t.same(issued.map((i) => i.grantType), ['authorization_code', 'refresh_token'], 'the IdP issued two token sets')

  const entries = await store.entries()
  t.equal(entries.length, 1, 'one session in the store')
  const [stored] = entries
  t.same(notPlain(stored), [], 'only plain objects, arrays and primitives: no symbol keys, no class instances')
  t.same(JSON.parse(JSON.stringify(stored)), stored, 'JSON round-trips to the same value')
  t.type((stored as { oidc?: { sealed?: unknown } }).oidc?.sealed, 'string', 'the token set is kept sealed')

  const text = JSON.stringify(stored)
  const tokens = issued.flatMap((i) => [i.accessToken, i.refreshToken, i.idToken]).filter((v): v is string => v !== undefined)
  t.equal(tokens.length, 6, 'access, refresh and ID token of the login and of the refresh')
  t.same(tokens.filter((token) => text.includes(token)).map((token) => `${token.slice(0, 8)}…`), [], 'no issued token in clear in the store')
  t.notMatch(text, /demo@example\.com/, 'no claim in clear either')

  const session = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body) as { authenticated: boolean, user: { sub: string } }
  t.equal(session.authenticated, true, 'the session read back from the snapshot works')
  t.equal(session.user.sub, 'demo')
})
