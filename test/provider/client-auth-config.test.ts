// OIDC_TOKEN_AUTH_METHOD, OIDC_CLIENT_PRIVATE_KEY(_FILE), OIDC_CLIENT_KEY_ID and
// OIDC_PAR: every bad value is one line of FST_OIDC_CONFIG_INVALID naming the
// variable (with its provider's prefix), and never a byte of the key.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { resolveConfig, type FastifyOidcOptions } from '../../lib/index.js'

const BASE = {
  OIDC_BASE_URL: 'https://shop.example.com',
  OIDC_SESSION_SECRET: 'client-auth-config-session-secret-0123456789',
  OIDC_ISSUER: 'https://idp.example.com',
  OIDC_CLIENT_ID: 'shop'
}
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const RSA_PEM = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
const RSA_PKCS1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string
const RSA_PUBLIC_PEM = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string
const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' })
const EC_JWK = JSON.stringify(ec.privateKey.export({ format: 'jwk' }))
const ED_PEM = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
const SECRET_BITS = RSA_PEM.split('\n')[3]!

function resolve (env: Record<string, string | undefined>, options: FastifyOidcOptions = {}) {
  return resolveConfig({ env: { ...BASE, ...env }, ...options })
}

function failure (t: Test, env: Record<string, string | undefined>, options: FastifyOidcOptions = {}): string {
  try {
    resolve(env, options)
  } catch (err) {
    t.equal((err as { code?: string }).code, 'FST_OIDC_CONFIG_INVALID')
    const message = (err as Error).message
    t.notOk(message.includes(SECRET_BITS), 'no key material in the message')
    return message
  }
  t.fail('the configuration was accepted')
  return ''
}

t.test('defaults: client_secret_basic-or-post chosen later with a secret, none without; PAR auto', async (t) => {
  t.match(resolve({ OIDC_CLIENT_SECRET: 's' }).providers[0], { tokenAuthMethod: undefined, clientKey: undefined, par: 'auto' })
  t.match(resolve({}).providers[0], { tokenAuthMethod: undefined, par: 'auto' })
})

t.test('private_key_jwt with a PEM: kid from OIDC_CLIENT_KEY_ID or the RFC 7638 thumbprint; the public JWK has no private member', async (t) => {
  const withKid = resolve({ OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: RSA_PEM, OIDC_CLIENT_KEY_ID: 'k1' }).providers[0]!
  t.equal(withKid.tokenAuthMethod, 'private_key_jwt')
  t.equal(withKid.clientKey?.kid, 'k1')
  t.same(Object.keys(withKid.clientKey!.publicJwk).sort(), ['e', 'kid', 'kty', 'n', 'use'])
  t.equal(withKid.clientKey?.algorithms[0], 'RS256')
  const implied = resolve({ OIDC_CLIENT_PRIVATE_KEY: RSA_PKCS1 }).providers[0]!
  t.equal(implied.tokenAuthMethod, 'private_key_jwt', 'a key alone implies private_key_jwt')
  t.match(implied.clientKey?.kid, /^[\w-]{43}$/, 'the thumbprint')
  t.same(resolve({ OIDC_CLIENT_PRIVATE_KEY: EC_JWK }).providers[0]!.clientKey?.algorithms, ['ES384'])
  t.same(resolve({ OIDC_CLIENT_PRIVATE_KEY: ED_PEM }).providers[0]!.clientKey?.algorithms, ['EdDSA', 'Ed25519'])
  const serialized = JSON.stringify(withKid)
  t.notOk(serialized.includes('"d"'), 'a serialized configuration has no private member')
  t.type(withKid.clientKey?.privateJwk.d, 'string', 'the private JWK is there for the plugin')
  const option = resolve({}, { tokenAuthMethod: 'private_key_jwt', clientPrivateKey: JSON.parse(EC_JWK) as Record<string, unknown>, clientKeyId: 'opt', par: true }).providers[0]!
  t.match(option, { tokenAuthMethod: 'private_key_jwt', par: true, clientKey: { kid: 'opt' } })
})

t.test('the key from OIDC_CLIENT_PRIVATE_KEY_FILE', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'client-key-'))
  writeFileSync(join(dir, 'key.pem'), RSA_PEM)
  t.equal(resolve({ OIDC_CLIENT_PRIVATE_KEY_FILE: join(dir, 'key.pem') }).providers[0]!.clientKey?.algorithms[0], 'RS256')
  t.match(failure(t, { OIDC_CLIENT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') }), /OIDC_CLIENT_PRIVATE_KEY_FILE: cannot read the file .*missing\.pem.* \(ENOENT\)/)
  t.match(failure(t, { OIDC_CLIENT_PRIVATE_KEY_FILE: join(dir, 'key.pem'), OIDC_CLIENT_PRIVATE_KEY: RSA_PEM }), /OIDC_CLIENT_PRIVATE_KEY and OIDC_CLIENT_PRIVATE_KEY_FILE: set one of them/)
})

t.test('bad keys name the variable and say why, without echoing them', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['unparseable PEM', '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----', /OIDC_CLIENT_PRIVATE_KEY: a PEM that cannot be read as a private key/],
    ['no PEM at all', 'hunter2', /OIDC_CLIENT_PRIVATE_KEY: not a PEM private key/],
    ['a public key', RSA_PUBLIC_PEM, /OIDC_CLIENT_PRIVATE_KEY: a public key or a certificate: the private key is needed/],
    ['a public JWK', JSON.stringify(ec.publicKey.export({ format: 'jwk' })), /OIDC_CLIENT_PRIVATE_KEY: a public JWK/],
    ['a symmetric JWK', JSON.stringify({ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' }), /OIDC_CLIENT_PRIVATE_KEY: a symmetric \(oct\) JWK/],
    ['broken JSON', '{"kty":"RSA",', /OIDC_CLIENT_PRIVATE_KEY: not valid JSON/],
    ['a broken private JWK', JSON.stringify({ kty: 'EC', crv: 'P-256', d: 'AA', x: 'AA', y: 'AA' }), /OIDC_CLIENT_PRIVATE_KEY: a JWK that is not a usable private key/],
    ['an X25519 key', generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /OIDC_CLIENT_PRIVATE_KEY: a x25519 key, which cannot sign/],
    ['an RSA-PSS-restricted key', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /OIDC_CLIENT_PRIVATE_KEY: an RSA-PSS-restricted key .*use a plain RSA key/],
    ['a secp256k1 key', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /OIDC_CLIENT_PRIVATE_KEY: an EC key on a curve JWS does not use/]
  ]
  for (const [name, key, expected] of cases) {
    const message = failure(t, { OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: key })
    t.match(message, expected, name)
    t.notOk(message.includes(key.length > 40 ? key.slice(10, 40) : key), `${name}: not echoed`)
  }
  t.match(failure(t, {}, { clientPrivateKey: [1, 2] as never }), /OIDC_CLIENT_PRIVATE_KEY: expected a PEM private key or a private JWK object/, 'an array option')
})

t.test('bad methods and combinations', async (t) => {
  t.match(failure(t, { OIDC_TOKEN_AUTH_METHOD: 'client_secret_jwt' }), /OIDC_TOKEN_AUTH_METHOD: expected client_secret_basic, client_secret_post, private_key_jwt, none, got "client_secret_jwt"/)
  t.match(failure(t, {}, { tokenAuthMethod: 'tls' as never }), /OIDC_TOKEN_AUTH_METHOD: expected client_secret_basic/)
  t.match(failure(t, { OIDC_TOKEN_AUTH_METHOD: 'client_secret_post' }), /OIDC_TOKEN_AUTH_METHOD=client_secret_post: needs OIDC_CLIENT_SECRET/)
  t.match(failure(t, { OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt' }), /OIDC_TOKEN_AUTH_METHOD=private_key_jwt: needs OIDC_CLIENT_PRIVATE_KEY \(a PEM or a JWK\) or OIDC_CLIENT_PRIVATE_KEY_FILE/)
  t.match(failure(t, { OIDC_TOKEN_AUTH_METHOD: 'none', OIDC_CLIENT_SECRET: 's' }), /OIDC_CLIENT_SECRET: not used with OIDC_TOKEN_AUTH_METHOD=none/)
  t.match(failure(t, { OIDC_CLIENT_PRIVATE_KEY: RSA_PEM, OIDC_CLIENT_SECRET: 's' }), /OIDC_CLIENT_SECRET: not used with OIDC_TOKEN_AUTH_METHOD=private_key_jwt/)
  t.match(failure(t, { OIDC_TOKEN_AUTH_METHOD: 'client_secret_basic', OIDC_CLIENT_SECRET: 's', OIDC_CLIENT_PRIVATE_KEY: RSA_PEM }), /OIDC_CLIENT_PRIVATE_KEY: only used with OIDC_TOKEN_AUTH_METHOD=private_key_jwt/)
  t.match(failure(t, { OIDC_PAR: 'sometimes' }), /OIDC_PAR: expected auto, true or false, got "sometimes"/)
  t.match(failure(t, {}, { par: 'yes' as never }), /OIDC_PAR: expected auto, true or false/)
  t.equal(resolve({ OIDC_PAR: 'false' }).providers[0]!.par, false)
  t.equal(resolve({ OIDC_PAR: 'auto' }).providers[0]!.par, 'auto')
  t.equal(resolve({ OIDC_PAR: 'TRUE' }).providers[0]!.par, true)
})

t.test('presets say which methods their IdP offers', async (t) => {
  t.match(failure(t, { OIDC_ISSUER: undefined, OIDC_PRESET: 'google', OIDC_CLIENT_PRIVATE_KEY: RSA_PEM }), /OIDC_TOKEN_AUTH_METHOD=private_key_jwt: the google preset's IdP accepts client_secret_basic, client_secret_post/)
  t.match(failure(t, { OIDC_ISSUER: undefined, OIDC_PRESET: 'github', OIDC_TOKEN_AUTH_METHOD: 'client_secret_basic', OIDC_CLIENT_SECRET: 's' }), /the github preset's IdP accepts client_secret_post/)
  const entra = resolve({ OIDC_ISSUER: undefined, OIDC_PRESET: 'entra', OIDC_TENANT: 'contoso.onmicrosoft.com', OIDC_CLIENT_PRIVATE_KEY: RSA_PEM, OIDC_CLIENT_KEY_ID: 'thumb' }).providers[0]!
  t.match(entra, { tokenAuthMethod: 'private_key_jwt', assertionAudience: 'token_endpoint', assertionX5t: true })
  t.match(resolve({ OIDC_ISSUER: undefined, OIDC_PRESET: 'okta', OIDC_SERVER_URL: 'https://acme.okta.com', OIDC_CLIENT_PRIVATE_KEY: RSA_PEM }).providers[0], { assertionAudience: 'token_endpoint', assertionX5t: false })
  t.match(resolve({ OIDC_ISSUER: undefined, OIDC_PRESET: 'keycloak', OIDC_SERVER_URL: 'https://kc.example.com', OIDC_REALM: 'r', OIDC_CLIENT_PRIVATE_KEY: RSA_PEM }).providers[0], { assertionAudience: 'issuer' })
})

t.test('with several providers each has its own OIDC_<NAME>_ settings', async (t) => {
  const config = resolve({
    OIDC_ISSUER: undefined,
    OIDC_CLIENT_ID: undefined,
    OIDC_PROVIDERS: 'corp,social',
    OIDC_CORP_ISSUER: 'https://corp.example.com',
    OIDC_CORP_CLIENT_ID: 'shop',
    OIDC_CORP_CLIENT_PRIVATE_KEY: RSA_PEM,
    OIDC_CORP_PAR: 'true',
    OIDC_SOCIAL_ISSUER: 'https://social.example.com',
    OIDC_SOCIAL_CLIENT_ID: 'shop',
    OIDC_SOCIAL_CLIENT_SECRET: 's',
    OIDC_SOCIAL_TOKEN_AUTH_METHOD: 'client_secret_post'
  })
  t.match(config.providers[0], { name: 'corp', tokenAuthMethod: 'private_key_jwt', par: true })
  t.match(config.providers[1], { name: 'social', tokenAuthMethod: 'client_secret_post', par: 'auto', clientKey: undefined })
  t.match(failure(t, { OIDC_PROVIDERS: 'corp', OIDC_CORP_ISSUER: 'https://corp.example.com', OIDC_CORP_CLIENT_ID: 'x', OIDC_CORP_CLIENT_PRIVATE_KEY: 'junk', OIDC_ISSUER: undefined, OIDC_CLIENT_ID: undefined, OIDC_PAR: 'true' }),
    /OIDC_PAR: with OIDC_PROVIDERS, set OIDC_<NAME>_PAR for each provider[\s\S]*OIDC_CORP_CLIENT_PRIVATE_KEY: not a PEM private key/)
})
