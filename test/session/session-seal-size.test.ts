// Smaller sealed sessions: the token vault DEFLATEs the plaintext before
// encrypting it (protected header "cmp":"DEF", listed in crit) and leaves out
// the claims when they are exactly the ID token's user claims (rebuilt from it
// when opened). Values sealed before — uncompressed, claims included, under an
// old key — still open; authenticated plaintexts that are not what a sealer
// writes do not; and a real login's session seals to at most 1.4x its token set.
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import type { FastifyRequest, Session } from 'fastify'
import t from 'tap'
import { CompactEncrypt, EncryptJWT, compactDecrypt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose'
import { MemoryStore } from '../../lib/index.js'
import { deriveKeys, type DerivedKey } from '../../lib/session/keys.js'
import { Sealer } from '../../lib/session/seal.js'
import { TokenVault, type SessionPayload, type StoredSession } from '../../lib/session/token-vault.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp, SESSION_SECRET } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

const OLD = 'old-session-secret-0123456789-abcdefghij'
const NEW = 'new-session-secret-9876543210-zyxwvutsrq'
const MARKER = 'PLAINTEXT-MARKER-access-token-value'

interface Payload { token: string, n: number }

const keyOf = (secret: string): DerivedKey => deriveKeys([secret], 'token-set')[0]!

/** The plaintext of a sealed value, decrypted and inflated by hand. */
async function plaintextOf (sealed: string, secret: string): Promise<Record<string, unknown>> {
  const { plaintext, protectedHeader } = await compactDecrypt(sealed, keyOf(secret).key, { crit: { cmp: true } })
  const bytes = protectedHeader['cmp'] === 'DEF' ? inflateRawSync(plaintext) : Buffer.from(plaintext)
  return JSON.parse(bytes.toString()) as Record<string, unknown>
}

/** The part of a request the vault reads: the @fastify/session session. */
function sessionRequest (sessionId: string, oidc?: StoredSession): FastifyRequest & { session: Session } {
  const session = {
    sessionId,
    oidc,
    set (key: string, value: unknown) { (this as Record<string, unknown>)[key] = value }
  }
  return { session } as unknown as FastifyRequest & { session: Session }
}

/** A signed ID token (its signature is not what the vault looks at) and the user claims a login derives from it. */
async function idToken (): Promise<{ jwt: string, claims: SessionPayload['claims'] }> {
  const { privateKey } = await generateKeyPair('ES256')
  const now = Math.floor(Date.now() / 1000)
  const user = { sub: 'alice', email: 'alice@example.com', name: 'Alice Example', roles: ['user', 'admin'], sid: 'idp-session' }
  const protocol = { nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' }
  const jwt = await new SignJWT({ ...user, ...protocol }).setProtectedHeader({ alg: 'ES256' })
    .setIssuer('https://idp.example.com').setAudience('app').setIssuedAt(now).setExpirationTime(now + 300).sign(privateKey)
  return { jwt, claims: { ...user, iss: 'https://idp.example.com', aud: 'app', iat: now, exp: now + 300 } }
}

t.test('a compressing sealer: round trip, marked in the protected header, smaller', async (t) => {
  const compressing = new Sealer<Payload>(deriveKeys([NEW], 'token-set'), { compress: true })
  const plain = new Sealer<Payload>(deriveKeys([NEW], 'token-set'))
  const payload = { token: MARKER.repeat(20), n: 42 }
  const sealed = await compressing.seal(payload, { binding: 'sid-1' })
  t.same(decodeProtectedHeader(sealed), { alg: 'dir', enc: 'A256GCM', kid: keyOf(NEW).kid, cmp: 'DEF', crit: ['cmp'] })
  t.same(await compressing.open(sealed, { binding: 'sid-1' }), { payload, stale: false })
  t.equal(await compressing.open(sealed, { binding: 'sid-2' }), null, 'bound as before')
  t.notOk(sealed.includes(MARKER))
  const uncompressed = await plain.seal(payload, { binding: 'sid-1' })
  t.ok(sealed.length < uncompressed.length / 3, `smaller: ${sealed.length} against ${uncompressed.length} bytes`)
  t.same(await plain.open(sealed, { binding: 'sid-1' }), { payload, stale: false }, 'any sealer opens either form')
  t.same(await compressing.open(uncompressed, { binding: 'sid-1' }), { payload, stale: false })
  t.equal(await compressing.open(await compressing.seal(payload, { ttl: -5 })), null, 'ttl still applies')
})

t.test('values sealed before compression (EncryptJWT, no marker) still open, under an old key too', async (t) => {
  const rotated = new Sealer<Payload>(deriveKeys([NEW, OLD], 'token-set'), { compress: true })
  const former = async (secret: string, claims: Record<string, unknown>, ttl?: number): Promise<string> => {
    const jwt = new EncryptJWT(claims).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: keyOf(secret).kid })
    if (ttl !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    return await jwt.encrypt(keyOf(secret).key)
  }
  const payload = { token: MARKER, n: 1 }
  t.same(await rotated.open(await former(OLD, { p: payload, b: 'sid-1' }), { binding: 'sid-1' }), { payload, stale: true }, 'old key: opens, stale')
  t.same(await rotated.open(await former(NEW, { p: payload, b: 'sid-1' }), { binding: 'sid-1' }), { payload, stale: false })
  t.same(await rotated.open(await former(NEW, { p: payload }, 60)), { payload, stale: false }, 'with an exp')
  t.equal(await rotated.open(await former(NEW, { p: payload }, -5)), null, 'expired')
  t.equal(await rotated.open(await former(NEW, { p: payload, b: 'sid-1' }), { binding: 'sid-2' }), null, 'bound elsewhere')
})

t.test('authenticated plaintexts that no sealer writes do not open', async (t) => {
  const sealer = new Sealer<Payload>(deriveKeys([NEW], 'token-set'), { compress: true })
  const { key, kid } = keyOf(NEW)
  const craft = async (plaintext: Uint8Array, header: Record<string, unknown> = {}): Promise<string> => {
    const crit = Object.hasOwn(header, 'crit') ? { crit: Object.fromEntries((header['crit'] as string[]).map((name) => [name, true])) } : {}
    return await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, ...header }).encrypt(key, crit)
  }
  const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value))
  t.ok(await sealer.open(await craft(json({ p: { n: 1 } }))), 'the control opens')
  t.ok(await sealer.open(await craft(deflateRawSync(json({ p: { n: 1 } })), { cmp: 'DEF', crit: ['cmp'] })), 'the compressed control opens')
  t.equal(await sealer.open(await craft(deflateRawSync(json({ p: { n: 1 } })), { cmp: 'LZ4', crit: ['cmp'] })), null, 'another compression')
  t.equal(await sealer.open(await craft(json({ p: { n: 1 } }), { cmp: 'DEF', crit: ['cmp'] })), null, 'marked but not compressed')
  t.equal(await sealer.open(await craft(deflateRawSync(Buffer.alloc(2 * 1024 * 1024, 0x20)), { cmp: 'DEF', crit: ['cmp'] })), null, 'inflates past 1 MiB')
  t.equal(await sealer.open(await craft(json({ p: { n: 1 } }), { zzz: 1, crit: ['zzz'] })), null, 'a critical parameter it does not know')
  t.equal(await sealer.open(await craft(Buffer.from('not json'))), null, 'not JSON')
  t.equal(await sealer.open(await craft(json(null))), null, 'JSON null')
  t.equal(await sealer.open(await craft(json({ p: { n: 1 }, exp: String(Math.floor(Date.now() / 1000) + 60) }))), null, 'exp not a number')
})

t.test('the token vault leaves the claims out when they are the ID token\'s, and only then', async (t) => {
  const { jwt, claims } = await idToken()
  const tokens = { accessToken: MARKER, idToken: jwt, refreshToken: 'rt-123', tokenType: 'Bearer', expiresAt: 2_000_000_000, scope: 'openid profile' }
  const cases: Array<[string, SessionPayload, boolean]> = [
    ['the ID token\'s user claims: left out', { tokens, claims, provider: 'default' }, false],
    ['claims beyond the ID token\'s (userinfo): kept', { tokens, claims: { ...claims, picture: 'https://example.com/a.png' }, provider: 'default' }, true],
    ['claims in another order: kept', { tokens, claims: { ...Object.fromEntries(Object.entries(claims).reverse()), sub: claims.sub }, provider: 'default' }, true],
    ['no ID token: kept', { tokens: { accessToken: MARKER, tokenType: 'Bearer' }, claims: { sub: 'alice' }, provider: 'github' }, true],
    ['an ID token that is not a JWT: kept', { tokens: { ...tokens, idToken: 'opaque' }, claims: { sub: 'alice' }, provider: 'default' }, true]
  ]
  for (const [name, payload, kept] of cases) {
    const stored = await new TokenVault([NEW]).write(sessionRequest('sid-1'), payload)
    const plaintext = await plaintextOf(stored.sealed, NEW)
    t.equal(Object.hasOwn(plaintext['p'] as object, 'claims'), kept, name)
    t.notOk(JSON.stringify(plaintext).includes('"nonce"'), `${name}: no protocol claim`)
    // A new vault: nothing in its cache of opened sessions.
    const opened = await new TokenVault([NEW]).read(sessionRequest('sid-1', stored))
    t.same(opened, payload, `${name}: opens to the same payload`)
    t.equal(JSON.stringify(opened?.claims), JSON.stringify(payload.claims), `${name}: the claims, in their order`)
  }
})

t.test('the token vault opens a session sealed before (uncompressed, claims included) and re-seals it compressed', async (t) => {
  const { jwt, claims } = await idToken()
  const payload: SessionPayload = { tokens: { accessToken: MARKER, idToken: jwt, tokenType: 'Bearer' }, claims, provider: 'default' }
  const sealed = await new EncryptJWT({ p: payload, b: 'sid-1' }).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: keyOf(OLD).kid }).encrypt(keyOf(OLD).key)
  const request = sessionRequest('sid-1', { v: 1, sealed, provider: 'default' })
  t.same(await new TokenVault([OLD]).read(request), payload, 'the same secret')
  t.equal(request.session.oidc!.sealed, sealed, 'not re-sealed: its key is current')
  t.equal(await new TokenVault([OLD]).read(sessionRequest('sid-2', request.session.oidc)), null, 'bound to its session id')

  const rotated = sessionRequest('sid-1', { v: 1, sealed, provider: 'default' })
  t.same(await new TokenVault([NEW, OLD]).read(rotated), payload, 'after a rotation')
  const resealed = rotated.session.oidc!.sealed
  t.same(decodeProtectedHeader(resealed), { alg: 'dir', enc: 'A256GCM', kid: keyOf(NEW).kid, cmp: 'DEF', crit: ['cmp'] }, 're-sealed with the new key, compressed')
  t.ok(resealed.length < sealed.length, `smaller: ${resealed.length} against ${sealed.length} bytes`)
  t.same(await new TokenVault([NEW]).read(sessionRequest('sid-1', rotated.session.oidc)), payload)
})

t.test('a real login: the stored session seals to at most 1.4x its token set', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const store = new MemoryStore()
  const options = { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store }
  const first = await buildApp(t, options)
  const { baseUrl } = first
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(login.status, 200)
  const sessionId = decodeURIComponent((await browser.cookies(baseUrl))['oidc.sid']!).replace(/\.[^.]*$/, '')
  const stored = await new Promise<StoredSession | undefined>((resolve, reject) => store.get(sessionId, (err, session) => err ? reject(err) : resolve(session?.oidc)))
  const plaintext = await plaintextOf(stored!.sealed, SESSION_SECRET)
  const { tokens } = plaintext['p'] as SessionPayload
  t.notOk(Object.hasOwn(plaintext['p'] as object, 'claims'), 'the claims are the ID token\'s: not sealed twice')
  const raw = Buffer.byteLength(JSON.stringify(tokens))
  t.ok(stored!.sealed.length <= 1.4 * raw, `${stored!.sealed.length} bytes sealed for a ${raw}-byte token set (${(stored!.sealed.length / raw).toFixed(2)}x)`)

  // Another instance on the same store opens the session (nothing in its cache of opened sessions).
  const before = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body) as { user: Record<string, unknown> }
  await first.app.close()
  await buildApp(t, options)
  const after = JSON.parse((await browser.get(`${baseUrl}/auth/session`)).body) as { authenticated: boolean, user: Record<string, unknown> }
  t.equal(after.authenticated, true)
  t.same(after.user, before.user, 'the claims, rebuilt from the ID token')
  t.match(after.user, { sub: 'demo' })
  t.notOk('nonce' in after.user)
})
