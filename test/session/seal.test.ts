// Sealing (JWE dir + A256GCM with HKDF purpose keys): round trip, key rotation
// and re-sealing, and every way a sealed value must fail to open — plus an
// end-to-end session secret rotation across two app instances sharing a store.
import t from 'tap'
import type { FastifyRequest, Session } from 'fastify'
import { EncryptJWT, decodeProtectedHeader } from 'jose'
import { MemoryStore } from '../../lib/index.js'
import { cookieSigningSecrets, deriveKeys } from '../../lib/session/keys.js'
import { Sealer } from '../../lib/session/seal.js'
import { TokenVault, type SessionPayload, type StoredSession } from '../../lib/session/token-vault.js'
import { Browser, loginAtProvider } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort, startProvider } from '../helpers/provider.js'

const OLD = 'old-session-secret-0123456789-abcdefghij'
const NEW = 'new-session-secret-9876543210-zyxwvutsrq'
const OTHER = 'unrelated-secret-aaaaaaaaaaaaaaaaaaaaaaaa'
const MARKER = 'PLAINTEXT-MARKER-access-token-value'

interface Payload { token: string, n: number }

/** Alters one character of part `index` of a compact JWE. */
function tamper (jwe: string, index: number): string {
  const parts = jwe.split('.')
  const part = parts[index]!
  const i = part.length >> 1
  parts[index] = part.slice(0, i) + (part[i] === 'A' ? 'B' : 'A') + part.slice(i + 1)
  return parts.join('.')
}

t.test('derived keys: one per purpose and per secret, deterministic, never the secret itself', async (t) => {
  const [tokenSet] = deriveKeys([NEW], 'token-set')
  const [transaction] = deriveKeys([NEW], 'transaction')
  const [signing] = deriveKeys([NEW], 'cookie-signing')
  t.equal(tokenSet!.key.length, 32, '256-bit keys')
  t.not(Buffer.from(tokenSet!.key).toString('hex'), Buffer.from(transaction!.key).toString('hex'))
  t.not(Buffer.from(tokenSet!.key).toString('hex'), Buffer.from(signing!.key).toString('hex'))
  t.not(tokenSet!.kid, transaction!.kid)
  t.same(deriveKeys([NEW], 'token-set'), [tokenSet], 'the same secret and purpose give the same key')
  const both = deriveKeys([NEW, OLD], 'token-set')
  t.equal(both.length, 2)
  t.equal(both[0]!.kid, tokenSet!.kid, 'the first secret gives the first key')
  t.not(both[1]!.kid, tokenSet!.kid)

  const cookieSecrets = cookieSigningSecrets([NEW, OLD])
  t.equal(cookieSecrets.length, 2)
  t.equal(cookieSecrets[0], Buffer.from(signing!.key).toString('base64url'))
  t.notOk(cookieSecrets.includes(NEW), 'cookies are not signed with the raw secret')

  const sealed = await new Sealer<Payload>(deriveKeys([NEW], 'transaction')).seal({ token: MARKER, n: 1 })
  t.equal(await new Sealer<Payload>(deriveKeys([NEW], 'token-set')).open(sealed), null, 'a key of another purpose does not open it')
})

t.test('seal and open round trip; the sealed string reveals nothing', async (t) => {
  const sealer = new Sealer<Payload>(deriveKeys([NEW], 'token-set'))
  const sealed = await sealer.seal({ token: MARKER, n: 42 })
  t.same(await sealer.open(sealed), { payload: { token: MARKER, n: 42 }, stale: false })
  t.equal(sealed.split('.').length, 5, 'compact JWE')
  const header = decodeProtectedHeader(sealed)
  t.same(header, { alg: 'dir', enc: 'A256GCM', kid: deriveKeys([NEW], 'token-set')[0]!.kid })
  t.notOk(sealed.includes(MARKER), 'no plaintext')
  t.notOk(sealed.includes(Buffer.from(MARKER).toString('base64url').slice(0, 16)), 'no base64url of the plaintext')
  t.notOk(Buffer.from(sealed.split('.')[3]!, 'base64url').toString('latin1').includes('MARKER'), 'the ciphertext is no encoding of it')
  t.not(await sealer.seal({ token: MARKER, n: 42 }), sealed, 'a fresh IV each time')
})

t.test('rotation: the old key opens (stale), an unknown key does not', async (t) => {
  const sealedOld = await new Sealer<Payload>(deriveKeys([OLD], 'token-set')).seal({ token: MARKER, n: 1 })
  const rotated = new Sealer<Payload>(deriveKeys([NEW, OLD], 'token-set'))
  t.same(await rotated.open(sealedOld), { payload: { token: MARKER, n: 1 }, stale: true })
  const sealedNew = await rotated.seal({ token: MARKER, n: 2 })
  t.equal(decodeProtectedHeader(sealedNew).kid, deriveKeys([NEW], 'token-set')[0]!.kid, 'the first key seals')
  t.same(await rotated.open(sealedNew), { payload: { token: MARKER, n: 2 }, stale: false })
  t.equal(await new Sealer<Payload>(deriveKeys([NEW], 'token-set')).open(sealedOld), null, 'the old key removed: no longer opens')
  t.equal(await new Sealer<Payload>(deriveKeys([OTHER], 'token-set')).open(sealedOld), null, 'unknown secret')
})

t.test('forged, truncated, wrong-algorithm and non-string values do not open', async (t) => {
  const keys = deriveKeys([NEW], 'token-set')
  const sealer = new Sealer<Payload>(keys)
  const sealed = await sealer.seal({ token: MARKER, n: 1 })
  t.ok(await sealer.open(sealed), 'the original opens')
  for (const [index, part] of ['header', 'encrypted key', 'iv', 'ciphertext', 'tag'].entries()) {
    if (part === 'encrypted key') continue // empty for dir
    t.equal(await sealer.open(tamper(sealed, index)), null, `tampered ${part}`)
  }
  t.equal(await sealer.open(sealed.split('.').slice(0, 4).join('.')), null, 'truncated (no tag)')
  t.equal(await sealer.open(sealed.slice(0, -4)), null, 'truncated tag')
  t.equal(await sealer.open(`${sealed}.extra`), null, 'extra part')
  t.equal(await sealer.open(''), null, 'empty')
  for (const value of [undefined, null, 42, { sealed }, [sealed]]) {
    t.equal(await sealer.open(value), null, `not a string: ${JSON.stringify(value)}`)
  }
  const wrapped = await new EncryptJWT({ p: { token: MARKER, n: 1 } })
    .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: keys[0]!.kid })
    .encrypt(keys[0]!.key)
  t.equal(await sealer.open(wrapped), null, 'alg A256KW with the right key: refused (dir only)')
  const noKid = await new EncryptJWT({ p: { token: MARKER, n: 1 } }).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(keys[0]!.key)
  t.equal(await sealer.open(noKid), null, 'no kid')
})

t.test('ttl: an expired value does not open', async (t) => {
  const sealer = new Sealer<Payload>(deriveKeys([NEW], 'transaction'))
  t.ok(await sealer.open(await sealer.seal({ token: 'x', n: 1 }, { ttl: 60 })), 'within its lifetime')
  t.equal(await sealer.open(await sealer.seal({ token: 'x', n: 1 }, { ttl: -5 })), null, 'expired')
})

t.test('binding: a value opens only with the binding it was sealed with', async (t) => {
  const sealer = new Sealer<Payload>(deriveKeys([NEW], 'token-set'))
  const bound = await sealer.seal({ token: MARKER, n: 1 }, { binding: 'session-a' })
  t.same((await sealer.open(bound, { binding: 'session-a' }))?.payload, { token: MARKER, n: 1 })
  t.equal(await sealer.open(bound, { binding: 'session-b' }), null, 'another binding')
  t.equal(await sealer.open(bound), null, 'no binding given')
  const unbound = await sealer.seal({ token: MARKER, n: 1 })
  t.equal(await sealer.open(unbound, { binding: 'session-a' }), null, 'sealed unbound, opened bound')
})

/** The part of a request the vault reads: the @fastify/session session. */
function sessionRequest (sessionId: string, oidc?: StoredSession): FastifyRequest & { session: Session } {
  const session = {
    sessionId,
    oidc,
    set (key: string, value: unknown) { (this as Record<string, unknown>)[key] = value }
  }
  return { session } as unknown as FastifyRequest & { session: Session }
}

t.test('TokenVault: bound to the session id, re-seals values sealed with an old key', async (t) => {
  const payload: SessionPayload = { tokens: { accessToken: MARKER, tokenType: 'Bearer' }, claims: { sub: 'alice' }, provider: 'default' }
  const oldVault = new TokenVault([OLD])
  const first = sessionRequest('sid-1')
  const stored = await oldVault.write(first, payload)
  t.equal(first.session.oidc, stored)
  t.equal(stored.v, 1)
  t.notOk(JSON.stringify(stored).includes(MARKER), 'the stored session holds no readable token')
  t.same(await oldVault.read(sessionRequest('sid-1', stored)), payload)
  t.same(await oldVault.read(sessionRequest('sid-1', stored)), payload, 'again (from the opened cache)')
  t.equal(await oldVault.read(sessionRequest('sid-2', stored)), null, 'copied under another session id: does not open (the cache neither)')

  const rotated = new TokenVault([NEW, OLD])
  const request = sessionRequest('sid-1', stored)
  t.same(await rotated.read(request), payload, 'the old key still opens after rotation')
  const resealed = request.session.oidc!
  t.not(resealed.sealed, stored.sealed, 'the session was re-sealed')
  t.equal(decodeProtectedHeader(resealed.sealed).kid, deriveKeys([NEW], 'token-set')[0]!.kid, 'with the new key')
  t.same(await new TokenVault([NEW]).read(sessionRequest('sid-1', resealed)), payload, 'opens without the old secret')

  t.equal(await rotated.read(sessionRequest('sid-1')), null, 'anonymous session')
  t.equal(await rotated.read(sessionRequest('sid-1', { v: 1, sealed: 42 as unknown as string, provider: 'default' })), null, 'malformed stored value')
  t.equal(await new TokenVault([OTHER]).read(sessionRequest('sid-1', resealed)), null, 'another secret')
})

t.test('end to end: a session survives a secret rotation and is re-sealed with the new key', async (t) => {
  const port = await freePort()
  const idp = await startProvider(t, { appBaseUrl: `http://127.0.0.1:${port}` })
  const store = new MemoryStore()
  const appOptions = { port, issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, sessionStore: store }

  const before = await buildApp(t, { ...appOptions, sessionSecret: OLD })
  const browser = new Browser()
  const login = await loginAtProvider(browser, `${before.baseUrl}/auth/login?returnTo=/private`)
  t.equal(login.status, 200)
  t.same(JSON.parse(login.body), { sub: 'demo', roles: ['user'] })
  const cookie = (await browser.cookies(before.baseUrl))['oidc.sid']!
  const sessionId = decodeURIComponent(cookie).replace(/\.[^.]*$/, '')
  const storedValue = async (): Promise<StoredSession | undefined> =>
    await new Promise((resolve, reject) => store.get(sessionId, (err, session) => err ? reject(err) : resolve(session?.oidc)))
  const sealedBefore = (await storedValue())!.sealed
  t.equal(decodeProtectedHeader(sealedBefore).kid, deriveKeys([OLD], 'token-set')[0]!.kid)
  await before.app.close()

  const after = await buildApp(t, { ...appOptions, sessionSecret: [NEW, OLD] })
  const session = await browser.get(`${after.baseUrl}/auth/session`)
  t.equal(session.status, 200)
  const body = JSON.parse(session.body)
  t.equal(body.authenticated, true, 'still logged in after the rotation')
  t.equal(body.user.sub, 'demo')
  const sealedAfter = (await storedValue())!.sealed
  t.not(sealedAfter, sealedBefore, 'the stored value changed')
  t.equal(decodeProtectedHeader(sealedAfter).kid, deriveKeys([NEW], 'token-set')[0]!.kid, 're-sealed with the new key')
  const privatePage = await browser.get(`${after.baseUrl}/private`)
  t.equal(privatePage.status, 200)
  t.same(JSON.parse(privatePage.body), { sub: 'demo', roles: ['user'] })
  t.equal((await storedValue())!.sealed, sealedAfter, 'a fresh value is not re-sealed again')
})
