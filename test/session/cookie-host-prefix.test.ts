// Issue 11.12: on an https base URL the session cookie carries the __Host-
// prefix (Secure, Path=/, no Domain: a sibling subdomain or an http page cannot
// plant or overwrite it). An app that shares the cookie with subdomains sets a
// cookie domain and keeps oidc.sid; an explicit cookie name wins. A cookie jar
// with browser rules (tough-cookie) takes the cookie and sends it back over https only.
import Fastify, { type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { CookieJar } from 'tough-cookie'
import fastifyOidc, { resolveConfig, type FastifyOidcOptions } from '../../lib/index.js'
import { SESSION_SECRET } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'

const setCookies = (res: LightMyRequestResponse): string[] => [res.headers['set-cookie'] ?? []].flat()
const nameValue = (cookie: string): string => cookie.split(';')[0]!

/** Logs in over an https base URL behind a proxy; the callback's Set-Cookie headers and the session's. */
async function login (t: Test, baseUrl: string, options: Partial<FastifyOidcOptions> = {}): Promise<{ setCookie: string[], session: (cookie: string) => Promise<unknown> }> {
  const op = await startHostileOp(t)
  const app = Fastify({ trustProxy: true })
  t.teardown(() => app.close())
  await app.register(fastifyOidc, { issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret!, baseUrl, sessionSecret: SESSION_SECRET, env: {}, ...options })
  const proxied = { host: new URL(baseUrl).host, 'x-forwarded-proto': 'https' }
  const start = await app.inject({ url: '/auth/login', headers: proxied })
  const tx = setCookies(start).find((c) => c.startsWith('oidc.tx.'))!
  const answer = await fetch(start.headers.location as string, { redirect: 'manual' })
  const callback = new URL(answer.headers.get('location')!)
  const done = await app.inject({ url: callback.pathname + callback.search, headers: { ...proxied, cookie: nameValue(tx) } })
  t.equal(done.statusCode, 302, 'logged in')
  const session = async (cookie: string): Promise<unknown> => JSON.parse((await app.inject({ url: '/auth/session', headers: { ...proxied, cookie } })).body)
  return { setCookie: setCookies(done).filter((c) => !c.startsWith('oidc.tx.')), session }
}

t.test('https: the session cookie is __Host-oidc.sid, which a browser keeps and sends back over https only', async (t) => {
  const { setCookie, session } = await login(t, 'https://app.example')
  t.equal(setCookie.length, 1)
  const [cookie] = setCookie
  t.match(cookie, /^__Host-oidc\.sid=/)
  t.match(cookie, /; Path=\/(;|$)/)
  t.match(cookie, /; Secure/)
  t.notMatch(cookie, /Domain=/i)

  const jar = new CookieJar()
  await jar.setCookie(cookie!, 'https://app.example/auth/callback')
  const sent = await jar.getCookieString('https://app.example/private')
  t.match(sent, /^__Host-oidc\.sid=/, 'the jar sends it back to the app over https')
  t.equal(await jar.getCookieString('http://app.example/private'), '', 'never over plain http')
  t.equal(await jar.getCookieString('https://other.app.example/'), '', 'nor to a subdomain')
  t.match(await session(sent), { authenticated: true }, 'and it authenticates')

  // The browser rules of the prefix: a __Host- cookie with a Domain, or set over http, is refused.
  const planted = new CookieJar()
  await planted.setCookie(`${nameValue(cookie!)}; Path=/; Secure; Domain=app.example`, 'https://evil.app.example/', { ignoreError: true })
  await planted.setCookie(`${nameValue(cookie!)}; Path=/`, 'http://app.example/', { ignoreError: true })
  t.equal(await planted.getCookieString('https://app.example/'), '', 'a sibling subdomain or an http page cannot plant it')
})

t.test('https with a cookie domain: oidc.sid with that Domain (the opt-out); an explicit name wins', async (t) => {
  const shared = await login(t, 'https://app.example', { cookieDomain: 'example' })
  t.match(shared.setCookie[0], /^oidc\.sid=.*; Domain=example/)
  t.match(await shared.session(nameValue(shared.setCookie[0]!)), { authenticated: true })
  const named = await login(t, 'https://app.example', { cookieName: 'shop.sid' })
  t.match(named.setCookie[0], /^shop\.sid=/)
})

t.test('config: defaults per base URL, env vars, and the prefix rules', async (t) => {
  const base = { issuer: 'https://idp.example', clientId: 'c', sessionSecret: SESSION_SECRET }
  const cookieOf = (baseUrl: string, env: Record<string, string> = {}, options: Partial<FastifyOidcOptions> = {}): [string, string | undefined] => {
    const config = resolveConfig({ ...base, baseUrl, env, ...options })
    return [config.cookieName, config.cookieDomain]
  }
  t.same(cookieOf('https://app.example'), ['__Host-oidc.sid', undefined])
  t.same(cookieOf('http://127.0.0.1:3000'), ['oidc.sid', undefined], 'plain http: no prefix')
  t.same(cookieOf('https://app.example', { OIDC_COOKIE_DOMAIN: 'app.example' }), ['oidc.sid', 'app.example'])
  t.same(cookieOf('https://app.example', { OIDC_COOKIE_NAME: '__Secure-shop' }), ['__Secure-shop', undefined])
  const refused = (baseUrl: string, options: Partial<FastifyOidcOptions>, text: string): void => {
    t.throws(() => resolveConfig({ ...base, baseUrl, env: {}, ...options }), { code: 'FST_OIDC_CONFIG_INVALID', message: new RegExp(text) }, text)
  }
  refused('http://127.0.0.1:3000', { cookieName: '__Host-x' }, 'a __Host- cookie needs an https base URL and no cookie domain')
  refused('https://app.example', { cookieName: '__Host-x', cookieDomain: 'app.example' }, 'a __Host- cookie needs')
  refused('http://127.0.0.1:3000', { cookieName: '__Secure-x' }, 'a __Secure- cookie needs an https base URL')
  refused('https://app.example', { cookieDomain: 'other.example' }, 'OIDC_COOKIE_DOMAIN: expected the base URL\'s host or a parent domain')
  refused('https://app.example', { cookieDomain: 'bad domain;' }, 'OIDC_COOKIE_DOMAIN: expected a domain')
  // Without a base URL (itself reported) a domain cannot be checked against it: only the missing base URL is reported.
  const noBase = t.throws(() => resolveConfig({ ...base, env: {}, cookieDomain: 'app.example' }), { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_BASE_URL: required/ }) as Error
  t.notMatch(noBase.message, /OIDC_COOKIE_DOMAIN/)
})
