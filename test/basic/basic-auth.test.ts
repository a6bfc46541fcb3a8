// Delegated authentication (HTTP Basic, RFC 7617) against the application's
// own users table: right and wrong credentials, the same answer for unknown
// users, colons in passwords, UTF-8, malformed and oversized headers, the
// route's config handed to `authenticate`, roles (403), an authenticator that
// throws (503), no session for Basic requests, and the audit events.
import t from 'tap'
import { basic, startBasicApp, USERS } from '../helpers/basic.js'

const CHALLENGE = 'Basic realm="fastify-oidc", charset="UTF-8"'

t.test('right credentials: via basic, sub, roles and claims from authenticate; no session cookie', async (t) => {
  const app = await startBasicApp(t)
  const res = await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })
  t.same({ status: res.status, body: res.body }, { status: 200, body: { via: 'basic', sub: 'user:alice', roles: ['user'], name: 'alice' } })
  t.equal(res.headers.get('set-cookie'), null, 'no session is created for a Basic request')
  const [event] = app.events
  t.match(event, { type: 'basic_auth', sub: 'user:alice', username: 'alice', route: '/basic', ip: '127.0.0.1' })
  t.match(event?.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.type(event?.requestId, 'string')
})

t.test('a colon in the password, and UTF-8 usernames and passwords', async (t) => {
  const app = await startBasicApp(t)
  t.equal((await app.call('/basic', { authorization: basic('alice', 'correct horse:battery:staple') })).status, 200, 'split at the first colon')
  const utf8 = await app.call('/basic', { authorization: basic('jürgen', 'pässwörd-ünïcode') })
  t.same(utf8.body, { via: 'basic', sub: 'user:jürgen', roles: ['user', 'admin'], name: 'jürgen' })
  const latin1 = `Basic ${Buffer.from('jürgen:pässwörd-ünïcode', 'latin1').toString('base64')}`
  t.equal((await app.call('/basic', { authorization: latin1 })).status, 400, 'Latin-1 bytes are not UTF-8: malformed')
})

t.test('a wrong password and an unknown user get the same answer: 401 with the Basic challenge', async (t) => {
  const app = await startBasicApp(t)
  const wrong = await app.call('/basic', { authorization: basic('alice', 'not her password') })
  const unknown = await app.call('/basic', { authorization: basic('mallory', 'whatever') })
  for (const res of [wrong, unknown]) {
    t.equal(res.status, 401)
    t.equal(res.headers.get('www-authenticate'), CHALLENGE)
  }
  t.same(wrong.body, unknown.body, 'same body: no user enumeration')
  t.same(app.events.map((e) => [e.type, e.reason, e.username]), [
    ['basic_auth_failure', 'unknown_user_or_bad_password', 'alice'],
    ['basic_auth_failure', 'unknown_user_or_bad_password', 'mallory']
  ])
})

t.test('no credentials: 401 with the challenge on a Basic route; a browser goes to login where sessions are accepted', async (t) => {
  const app = await startBasicApp(t)
  const none = await app.call('/basic')
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), CHALLENGE)
  t.match(app.events.at(-1), { type: 'basic_auth_failure', reason: 'missing', route: '/basic' })
  const browser = await fetch(`${app.baseUrl}/both`, { headers: { accept: 'text/html' }, redirect: 'manual' })
  t.equal(browser.status, 302)
  t.equal(browser.headers.get('www-authenticate'), null)
  t.equal((await app.call('/both', { authorization: basic('alice', USERS.alice.password) })).body.via, 'basic')
})

t.test('malformed credentials: 400 FST_OIDC_BASIC_MALFORMED, the authenticator is not asked', async (t) => {
  let asked = 0
  const app = await startBasicApp(t, { authenticate: () => { asked++; return null } })
  const cases = {
    'not base64': 'Basic !!!not-base64!!!',
    'bad padding': 'Basic YWxpY2U6cHc',
    'no colon': `Basic ${Buffer.from('alice-without-colon').toString('base64')}`,
    'not UTF-8': `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString('base64')}`,
    'oversized header': basic('alice', 'x'.repeat(2000)),
    'CR LF in the user-id': basic('alice\r\nFAKE audit line', 'pw'),
    'an ANSI escape in the user-id': basic('\u001b[31mroot', 'pw')
  }
  for (const [name, authorization] of Object.entries(cases)) {
    const res = await app.call('/basic', { authorization })
    t.equal(res.status, 400, name)
    t.equal(res.body.code, 'FST_OIDC_BASIC_MALFORMED', name)
  }
  t.equal(asked, 0)
  t.ok(app.events.every((e) => e.type === 'basic_auth_failure' && e.reason === 'malformed'))
  const forged = app.events.find((e) => e.username?.includes('FAKE'))
  t.equal(forged?.username, 'alice\\u000d\\u000aFAKE audit line', 'CR LF encoded in the event')
  t.equal(app.events.find((e) => e.username?.includes('root'))?.username, '\\u001b[31mroot', 'ESC encoded')
  // eslint-disable-next-line no-control-regex
  t.notOk(app.logs.some((line) => /alice\r\n|\u001b\[31m/.test(line)), 'no raw CR LF or ESC in any log line')
  t.ok(app.logs.some((line) => line.includes('"username":"alice\\\\u000d\\\\u000aFAKE audit line"')), 'the log line holds the encoded username')
  t.equal((await app.call('/basic', { authorization: 'Basic' })).status, 400, 'the scheme alone')
})

t.test('the route\'s config reaches authenticate (the IRIS "service name")', async (t) => {
  const app = await startBasicApp(t)
  const auth = { authorization: basic('stockbot', USERS.stockbot.password) }
  t.equal((await app.call('/stock', auth)).status, 200, 'stockbot on the stock service')
  t.equal((await app.call('/basic', auth)).status, 401, 'refused by authenticate on another route')
})

t.test('roles from authenticate are enforced (403); scopes cannot be granted to a Basic caller', async (t) => {
  const app = await startBasicApp(t)
  const alice = await app.call('/admin', { authorization: basic('alice', USERS.alice.password) })
  t.equal(alice.status, 403)
  t.equal(alice.body.code, 'FST_OIDC_FORBIDDEN')
  t.equal((await app.call('/admin', { authorization: basic('jürgen', USERS['jürgen'].password) })).status, 200)
  t.equal((await app.call('/scoped', { authorization: basic('jürgen', USERS['jürgen'].password) })).status, 403)
})

t.test('an authenticate that throws, or answers without a sub: 503 FST_OIDC_AUTHENTICATOR_UNAVAILABLE, never 500 or 401', async (t) => {
  for (const [name, authenticate] of [
    ['throws', () => { throw new Error('connection to users DB refused: password=db-secret') }],
    ['rejects', async () => await Promise.reject(new Error('timeout'))],
    ['no sub', () => ({ roles: ['admin'] })],
    ['empty sub', () => ({ sub: '' })]
  ] as const) {
    const app = await startBasicApp(t, { authenticate: authenticate as never })
    const res = await app.call('/basic', { authorization: basic('alice', 'pw') })
    t.equal(res.status, 503, name)
    t.equal(res.body.code, 'FST_OIDC_AUTHENTICATOR_UNAVAILABLE', name)
    t.notMatch(JSON.stringify(res.body), 'db-secret', 'the cause stays private')
    t.match(app.events.at(-1), { type: 'basic_auth_failure', reason: 'authenticator_error', username: 'alice' })
  }
})

t.test('accept basic without authenticate is a configuration error at route definition', async (t) => {
  await t.rejects(startBasicApp(t, { authenticate: undefined }), { code: 'FST_OIDC_CONFIG_INVALID' })
  await t.rejects(startBasicApp(t, { authenticate: 'yes' as never }), { code: 'FST_OIDC_CONFIG_INVALID', message: /authenticate: expected a function/ })
  await t.rejects(startBasicApp(t, { basicRealm: 'a "quoted" realm' }), { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_BASIC_REALM/ })
})

t.test('a Basic caller has no token: accessToken() 401, nothing forwarded, no scopes, no expiry', async (t) => {
  const app = await startBasicApp(t)
  const res = await app.call('/details', { authorization: basic('alice', USERS.alice.password) })
  t.same(res.body, {
    scopes: [],
    expiresAt: null,
    authenticated: true,
    accessToken: 'FST_OIDC_UNAUTHENTICATED',
    fetch: 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED',
    headers: {},
    headersForUrl: 'FST_OIDC_DOWNSTREAM_ORIGIN_DENIED'
  })
})

t.test('roles that are not a list and claims that are not an object are ignored', async (t) => {
  const app = await startBasicApp(t, { authenticate: () => ({ sub: 'svc', roles: 'admin' as never, claims: null as never }) })
  const res = await app.call('/basic', { authorization: basic('svc', 'pw') })
  t.same(res.body, { via: 'basic', sub: 'svc', roles: [] })
  t.equal((await app.call('/admin', { authorization: basic('svc', 'pw') })).status, 403, 'a string is no role list')
})
