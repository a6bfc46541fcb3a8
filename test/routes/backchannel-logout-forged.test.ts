// POST /auth/backchannel-logout against forged and malformed requests, with
// logout tokens written by hand and signed by the hostile OP's own keys (or
// not): each one is refused with 400 FST_OIDC_LOGOUT_TOKEN_INVALID and a
// `backchannel_logout_failure` event naming the reason, and the victim's
// session still works afterwards. Valid tokens naming nobody answer 200 and
// end nothing; a replayed one is refused; other methods get 405; an unusable
// JWKS is the IdP's failure (502), never a 500, and ends nothing.
import { CompactSign, type JWTPayload } from 'jose'
import t from 'tap'
import type { Test } from 'tap'
import { expectNoLeak, hitCallback, reachCallback, scriptToken, startAttack, type Attack } from '../helpers/attack.js'
import { Browser, json, type BrowserResponse, type PostBody } from '../helpers/browser.js'
import { generateOpKey, randomToken, type IdTokenSignOptions } from '../helpers/hostile-op.js'

const EVENT = 'http://schemas.openid.net/event/backchannel-logout'
const SID = 'op-sid-victim'

interface Victim extends Attack {
  /** The IdP's side: posts to the back-channel URI, holds no cookie. */
  idp: Browser
  /** POSTs a body to /auth/backchannel-logout as the IdP; every logout_token in it becomes a secret. */
  post: (body: PostBody | undefined, headers?: Record<string, string>) => Promise<BrowserResponse>
  /** A logout token for the victim (sid + sub), signed by the OP's RSA key with typ logout+jwt, after `claims` and `sign` changes. */
  token: (claims?: Record<string, unknown>, sign?: IdTokenSignOptions) => Promise<string>
  answers: BrowserResponse[]
}

/** The hostile OP and the app, with the victim (alice, IdP session SID) logged in. */
async function victim (t: Test, options: Parameters<typeof startAttack>[1] = {}, prepare?: (attack: Attack) => void): Promise<Victim> {
  const attack = await startAttack(t, options)
  attack.op.user = { ...attack.op.user, sid: SID }
  prepare?.(attack)
  const login = await hitCallback(attack, await reachCallback(attack))
  if (login.status !== 302) throw new Error(`login failed: ${login.status} ${login.body}`)
  const idp = new Browser()
  const answers: BrowserResponse[] = []
  const url = `${attack.baseUrl}/auth/backchannel-logout`
  return {
    ...attack,
    idp,
    answers,
    post: async (body, headers = {}) => {
      const res = body === undefined ? await idp.request('POST', url, undefined, headers) : await idp.post(url, body, headers)
      answers.push(res)
      return res
    },
    token: async (claims = {}, sign = {}) => {
      const now = Math.floor(Date.now() / 1000)
      const all: Record<string, unknown> = { iss: attack.op.issuer, aud: attack.op.clientId, iat: now, exp: now + 120, jti: randomToken(), events: { [EVENT]: {} }, sub: 'alice', sid: SID, ...claims }
      const payload = Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined)) as JWTPayload
      const token = await attack.op.signIdToken(payload, { typ: 'logout+jwt', ...sign })
      attack.secrets.add(token)
      return token
    }
  }
}

async function alive (v: Victim): Promise<boolean> {
  const res = await v.browser.get(`${v.baseUrl}/private`, { accept: 'application/json' })
  const session = JSON.parse((await v.browser.get(`${v.baseUrl}/auth/session`)).body) as { authenticated: boolean }
  return res.status === 200 && session.authenticated
}

/** 400 FST_OIDC_LOGOUT_TOKEN_INVALID, no-store, one failure event with `reason`, and the victim still logged in. */
async function expectRefused (t: Test, v: Victim, res: BrowserResponse, reason: string, mark: number): Promise<void> {
  t.equal(res.status, 400, 'answers 400')
  t.match(JSON.parse(res.body), { statusCode: 400, code: 'FST_OIDC_LOGOUT_TOKEN_INVALID' })
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.same(v.events.slice(mark).map((e) => [e.type, e.reason]), [['backchannel_logout_failure', reason]], `one backchannel_logout_failure (${reason})`)
  t.ok(await alive(v), 'the victim is still logged in')
}

const now = (): number => Math.floor(Date.now() / 1000)

interface Forgery {
  name: string
  reason: string
  token: (v: Victim) => Promise<string>
}

const forgeries: Forgery[] = [
  { name: 'alg none', reason: 'logout_token_alg', token: async (v) => await v.token({}, { alg: 'none' }) },
  { name: 'HS256 keyed by the OP\'s public key', reason: 'logout_token_alg', token: async (v) => await v.token({}, { alg: 'HS256', key: 'public-pem' }) },
  { name: 'signed by another key (its own kid)', reason: 'logout_token_signature', token: async (v) => await v.token({}, { key: await generateOpKey('RS256') }) },
  { name: 'signed by another key under the OP\'s kid', reason: 'logout_token_signature', token: async (v) => await v.token({}, { key: await generateOpKey('RS256'), kid: v.op.keys.rsa.kid }) },
  { name: 'a flipped signature', reason: 'logout_token_signature', token: async (v) => v.op.flipSignature(await v.token()) },
  { name: 'a signature that is not base64url', reason: 'logout_token_malformed', token: async (v) => `${(await v.token()).split('.').slice(0, 2).join('.')}.***` },
  { name: 'not a JWT at all', reason: 'logout_token_malformed', token: async () => 'not-a-jwt' },
  {
    name: 'a signed payload that is not JSON',
    reason: 'logout_token_malformed',
    token: async (v) => await new CompactSign(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'RS256', kid: v.op.keys.rsa.kid, typ: 'logout+jwt' }).sign(v.op.keys.rsa.privateKey)
  },
  { name: 'an unknown critical header', reason: 'logout_token_malformed', token: async (v) => await v.token({}, { header: { crit: ['urn:example:x'], 'urn:example:x': 1 } }) },
  { name: 'typ JWT', reason: 'logout_token_typ', token: async (v) => await v.token({}, { typ: 'JWT' }) },
  { name: 'typ at+jwt', reason: 'logout_token_typ', token: async (v) => await v.token({}, { typ: 'at+jwt' }) },
  { name: 'wrong iss', reason: 'logout_token_claims', token: async (v) => await v.token({ iss: 'https://evil.example' }) },
  { name: 'wrong aud', reason: 'logout_token_claims', token: async (v) => await v.token({ aud: 'another-client' }) },
  { name: 'missing events', reason: 'logout_token_claims', token: async (v) => await v.token({ events: undefined }) },
  { name: 'missing iat', reason: 'logout_token_claims', token: async (v) => await v.token({ iat: undefined }) },
  { name: 'iat not a number', reason: 'logout_token_claims', token: async (v) => await v.token({ iat: 'yesterday' }) },
  { name: 'nbf in the future', reason: 'logout_token_claims', token: async (v) => await v.token({ nbf: now() + 600 }) },
  { name: 'missing jti', reason: 'logout_token_claims', token: async (v) => await v.token({ jti: undefined }) },
  { name: 'an empty jti', reason: 'logout_token_jti', token: async (v) => await v.token({ jti: '' }) },
  { name: 'a numeric jti', reason: 'logout_token_jti', token: async (v) => await v.token({ jti: 42 }) },
  { name: 'events without the back-channel member', reason: 'logout_token_events', token: async (v) => await v.token({ events: { 'http://schemas.openid.net/event/other': {} } }) },
  { name: 'the events member a string', reason: 'logout_token_events', token: async (v) => await v.token({ events: { [EVENT]: 'logout' } }) },
  { name: 'the events member an array', reason: 'logout_token_events', token: async (v) => await v.token({ events: { [EVENT]: [] } }) },
  { name: 'the events member null', reason: 'logout_token_events', token: async (v) => await v.token({ events: { [EVENT]: null } }) },
  { name: 'events a string', reason: 'logout_token_events', token: async (v) => await v.token({ events: EVENT }) },
  { name: 'events null', reason: 'logout_token_events', token: async (v) => await v.token({ events: null }) },
  { name: 'a nonce', reason: 'logout_token_nonce', token: async (v) => await v.token({ nonce: 'n-0S6_WzA2Mj' }) },
  { name: 'neither sid nor sub', reason: 'logout_token_subject', token: async (v) => await v.token({ sid: undefined, sub: undefined }) },
  { name: 'an empty sid', reason: 'logout_token_subject', token: async (v) => await v.token({ sid: '' }) },
  { name: 'a numeric sub', reason: 'logout_token_subject', token: async (v) => await v.token({ sub: 42 }) },
  { name: 'expired exp', reason: 'logout_token_exp', token: async (v) => await v.token({ iat: now() - 300, exp: now() - 120 }) },
  { name: 'iat in the future', reason: 'logout_token_iat', token: async (v) => await v.token({ iat: now() + 600, exp: now() + 900 }) },
  { name: 'iat 20 minutes old', reason: 'logout_token_iat', token: async (v) => await v.token({ iat: now() - 20 * 60 }) },
  { name: 'azp of another client', reason: 'logout_token_azp', token: async (v) => await v.token({ azp: 'another-client' }) }
]

t.test('forged logout tokens: 400, a failure event with its reason, and the session survives', async (t) => {
  const v = await victim(t)
  for (const forgery of forgeries) {
    await t.test(forgery.name, async (t) => {
      const mark = v.events.length
      await expectRefused(t, v, await v.post({ logout_token: await forgery.token(v) }), forgery.reason, mark)
    })
  }
  expectNoLeak(t, v, v.answers)
})

t.test('valid tokens naming no session of this app: 200 no-store, nothing ended', async (t) => {
  const v = await victim(t)
  const accepted: Array<[string, () => Promise<string>]> = [
    ['typ logout+jwt, an unknown sid', async () => await v.token({ sid: 'unknown-sid' })],
    ['no typ', async () => await v.token({ sid: 'unknown-sid' }, { typ: undefined })],
    ['typ application/logout+jwt', async () => await v.token({ sid: 'unknown-sid' }, { typ: 'application/logout+jwt' })],
    ['ES256', async () => await v.token({ sid: 'unknown-sid' }, { alg: 'ES256' })],
    ['azp of this client', async () => await v.token({ sid: 'unknown-sid', azp: v.op.clientId })],
    ['no exp', async () => await v.token({ sid: 'unknown-sid', exp: undefined })],
    ['iat 9 minutes old', async () => await v.token({ sid: 'unknown-sid', iat: now() - 9 * 60 })],
    ['only an unknown sid', async () => await v.token({ sid: 'unknown-sid', sub: undefined })],
    ['only another user\'s sub', async () => await v.token({ sid: undefined, sub: 'bob' })]
  ]
  for (const [name, token] of accepted) {
    await t.test(name, async (t) => {
      const mark = v.events.length
      const res = await v.post({ logout_token: await token() }, { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' })
      t.equal(res.status, 200)
      t.equal(res.headers.get('cache-control'), 'no-store')
      t.equal(res.body, '')
      t.same(v.events.slice(mark).map((e) => e.type), ['backchannel_logout'])
      t.ok(await alive(v), 'the victim is still logged in')
    })
  }
  // The caller is the IdP's server, not a browser: no CSRF check applies.
  const crossSite = await v.post({ logout_token: await v.token({ sid: 'unknown-sid' }) }, { origin: 'https://idp.example', 'sec-fetch-site': 'cross-site' })
  t.equal(crossSite.status, 200, 'a cross-site Origin is no reason to refuse')
  expectNoLeak(t, v, v.answers)
})

t.test('a replayed logout token: the first use answers 200, the second 400 logout_token_replayed', async (t) => {
  const v = await victim(t)
  const token = await v.token({ sid: 'unknown-sid' })
  t.equal((await v.post({ logout_token: token })).status, 200, 'first use')
  const replayed = v.events.length
  await expectRefused(t, v, await v.post({ logout_token: token }), 'logout_token_replayed', replayed)

  // The real thing, replayed after it ended the session, is refused too.
  const real = await v.token()
  t.equal((await v.post({ logout_token: real })).status, 200)
  t.notOk(await alive(v), 'the victim\'s session ended')
  const mark = v.events.length
  const again = await v.post({ logout_token: real })
  t.equal(again.status, 400)
  t.same(v.events.slice(mark).map((e) => [e.type, e.reason]), [['backchannel_logout_failure', 'logout_token_replayed']])
  expectNoLeak(t, v, v.answers)
})

t.test('requests without exactly one form logout_token: 400 logout_token_missing, never 415 or 500', async (t) => {
  const v = await victim(t)
  const valid = async (): Promise<string> => await v.token()
  const requests: Array<[string, () => Promise<[PostBody | undefined, Record<string, string>?]>]> = [
    ['no body', async () => [undefined]],
    ['an empty form', async () => [{}]],
    ['a form without logout_token', async () => [{ token: await valid() }]],
    ['an empty logout_token', async () => [{ logout_token: '' }]],
    ['two logout_token parameters', async () => [new URLSearchParams([['logout_token', await valid()], ['logout_token', await valid()]])]],
    ['a JSON body', async () => [json({ logout_token: await valid() })]],
    ['an empty JSON body', async () => [undefined, { 'content-type': 'application/json' }]],
    ['a text/plain body', async () => [{ logout_token: await valid() }, { 'content-type': 'text/plain' }]]
  ]
  for (const [name, request] of requests) {
    await t.test(name, async (t) => {
      const mark = v.events.length
      const [body, headers] = await request()
      await expectRefused(t, v, await v.post(body, headers), 'logout_token_missing', mark)
    })
  }
  // A media type no parser of the routes knows is refused by Fastify itself,
  // before the route runs: 415 is the truthful answer (still no-store, never 500).
  const xml = await v.post({ logout_token: await valid() }, { 'content-type': 'application/xml' })
  t.equal(xml.status, 415, 'an XML body: 415')
  t.match(JSON.parse(xml.body), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' })
  t.equal(xml.headers.get('cache-control'), 'no-store')
  t.ok(await alive(v), 'the victim is still logged in')
  expectNoLeak(t, v, v.answers)
})

t.test('other methods: 405 with Allow: POST', async (t) => {
  const v = await victim(t)
  for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH']) {
    const res = await v.idp.request(method, `${v.baseUrl}/auth/backchannel-logout`, method === 'GET' || method === 'HEAD' ? undefined : { logout_token: await v.token() })
    t.equal(res.status, 405, `${method}: 405`)
    t.equal(res.headers.get('allow'), 'POST', `${method}: Allow: POST`)
    t.equal(res.headers.get('cache-control'), 'no-store')
    if (method !== 'HEAD') t.equal(JSON.parse(res.body).code, 'FST_OIDC_METHOD_NOT_ALLOWED')
  }
  t.ok(await alive(v), 'the victim is still logged in')
  t.notOk(v.events.some((e) => e.type.startsWith('backchannel')), 'no back-channel event')
})

/**
 * The victim logged in with an HMAC ID token (keyed by the client secret), so
 * the app has never fetched the OP's JWKS: the first RS256 logout token must.
 */
async function victimWithoutJwks (t: Test): Promise<Victim> {
  const v = await victim(t, { app: { idTokenSigningAlgs: ['HS256', 'RS256'], httpTimeout: 300 } }, (attack) => {
    scriptToken(attack, async (ctx) => ({ body: { ...await ctx.defaultBody(), id_token: await ctx.sign(ctx.defaultClaims(), { alg: 'HS256', key: 'test-secret', kid: null }) } }))
  })
  t.ok(await alive(v), 'logged in with an HS256 ID token')
  t.equal(v.op.requests('/jwks').length, 0, 'the JWKS was never fetched')
  return v
}

t.test('the JWKS cannot be fetched: 502 (504 on a time-out), never 500, nothing ended', async (t) => {
  const v = await victimWithoutJwks(t)
  const token = await v.token()

  v.op.onJwks = () => ({ status: 200, body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } })
  let mark = v.events.length
  let res = await v.post({ logout_token: token })
  t.equal(res.status, 502, 'a JWKS that is not JSON: 502')
  t.match(JSON.parse(res.body), { code: 'FST_OIDC_IDP_BAD_RESPONSE' })
  t.same(v.events.slice(mark).map((e) => [e.type, e.reason]), [['backchannel_logout_failure', 'jwks_error']])
  t.ok(await alive(v), 'the victim is still logged in')

  v.op.onJwks = () => ({ delayMs: 5000 })
  mark = v.events.length
  res = await v.post({ logout_token: token })
  t.equal(res.status, 504, 'a JWKS that does not answer in time: 504')
  t.match(JSON.parse(res.body), { code: 'FST_OIDC_IDP_TIMEOUT' })
  t.same(v.events.slice(mark).map((e) => [e.type, e.reason]), [['backchannel_logout_failure', 'idp_timeout']])
  t.ok(await alive(v), 'the victim is still logged in')

  await v.op.stop()
  mark = v.events.length
  res = await v.post({ logout_token: token })
  t.equal(res.status, 502, 'an unreachable JWKS: 502')
  t.match(JSON.parse(res.body), { code: 'FST_OIDC_IDP_UNREACHABLE' })
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.same(v.events.slice(mark).map((e) => [e.type, e.reason]), [['backchannel_logout_failure', 'idp_unreachable']])
  t.ok(await alive(v), 'the victim is still logged in')
  expectNoLeak(t, v, v.answers)
})
