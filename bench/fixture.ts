// What the benchmark servers need around them, run in the orchestrator (idle
// while a server is under load): the embedded dev IdP (oidc-provider, the same
// as the example app's) for real logins, a small JWKS server, and access tokens
// signed the way a real IdP signs them.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes, randomUUID } from 'node:crypto'
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type JWK } from 'jose'
import { startDevIdp, type DevIdp, type DevIdpClient } from '../example-app/dev-idp.js'
import { Browser, loginAtProvider } from '../test/helpers/browser.js'
import { startDownstreams, type Downstreams } from './downstreams.js'
import type { SessionData } from './servers/common.js'

/** The user of every row: a UUID `sub`, as Keycloak or Entra ID issue. */
export const SUB = '3f0e6c52-8f6b-4a55-9b8e-2d6f1a7c9e41'
/** The API audience of the dev IdP's JWT access tokens and of the bearer rows' tokens. */
export const AUDIENCE = 'urn:bench:api'
/** The issuer of the bearer rows' tokens (never fetched: their JWKS URI is configured). */
export const TOKEN_ISSUER = 'https://sso.bench.example/realms/shop'

const ACCOUNT = {
  name: 'Ada Lovelace',
  given_name: 'Ada',
  family_name: 'Lovelace',
  preferred_username: 'ada',
  locale: 'en-GB',
  email: 'ada.lovelace@example.com',
  email_verified: true,
  roles: ['user', 'reviewer']
}
/** What the dev IdP adds to its JWT access tokens, as real IdPs do (they then carry fourteen claims, the ID token as many). */
const ACCESS_TOKEN_EXTRAS = { acr: '1', amr: ['pwd'], name: ACCOUNT.name, preferred_username: 'ada', email: ACCOUNT.email, roles: ACCOUNT.roles }

/** A token endpoint response the dev IdP sent, with the client it went to. */
export interface IssuedTokens {
  clientId: string
  body: { access_token: string, token_type: string, refresh_token?: string, id_token?: string, expires_in?: number, scope?: string }
}

export interface Fixture {
  idp: DevIdp
  clientSecret: string
  /** Shared by every session-based row (each derives its own keys from it). */
  sessionSecret: string
  jwksUri: string
  /** The public keys the bearer rows verify with. */
  jwks: JSONWebKeySet
  /** Access tokens for the bearer rows: RFC 9068 (`typ: at+jwt`), sixteen claims. */
  tokens: { rs256: string, es256: string }
  /** `count` more RS256 access tokens like `tokens.rs256`, each distinct (its own `jti` and `sid`). */
  mintRs256: (count: number) => Promise<string[]>
  /** Every token response of the dev IdP, in order. */
  issued: IssuedTokens[]
  /** The local downstreams of the fetch rows (11, 11v, 11d, 12): their URLs and what each was sent (bench/downstreams.ts). */
  downstreams: Downstreams
  close: () => Promise<void>
}

async function listen (server: Server): Promise<number> {
  return await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

async function signingKey (alg: 'RS256' | 'ES256'): Promise<{ alg: string, kid: string, privateKey: PrivateKey, jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`
  return { alg, kid, privateKey, jwk: { ...await exportJWK(publicKey), alg, use: 'sig', kid } }
}

/** An access token as a real IdP issues it: RFC 9068 header and claims, plus the usual identity claims. */
async function accessToken (key: { alg: string, kid: string, privateKey: PrivateKey }): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({
    client_id: 'shop-web',
    scope: 'openid profile email orders:read orders:write',
    sid: randomUUID(),
    auth_time: now - 60,
    acr: '1',
    amr: ['pwd'],
    name: ACCOUNT.name,
    preferred_username: 'ada',
    email: ACCOUNT.email,
    roles: ACCOUNT.roles
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(SUB)
    .setAudience([AUDIENCE, 'account'])
    .setIssuedAt(now)
    .setExpirationTime(now + 12 * 3600)
    .setJti(randomUUID())
    .sign(key.privateKey)
}

export async function startFixture (clients: Array<Omit<DevIdpClient, 'client_secret'>>): Promise<Fixture> {
  const clientSecret = randomBytes(24).toString('base64url')
  const sessionSecret = randomBytes(36).toString('base64url')
  const idp = await startDevIdp({
    clients: clients.map((c) => ({ ...c, client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' })),
    accounts: { [SUB]: ACCOUNT },
    jwtAccessTokens: { audience: AUDIENCE, scope: 'api:read api:write' },
    extraAccessTokenClaims: ACCESS_TOKEN_EXTRAS
  })
  const issued: IssuedTokens[] = []
  idp.provider.on('grant.success', (ctx: { body?: unknown, oidc?: { client?: { clientId?: string } } }) => {
    const body = ctx.body as IssuedTokens['body'] | undefined
    if (typeof body?.access_token === 'string') issued.push({ clientId: String(ctx.oidc?.client?.clientId), body })
  })

  const rs = await signingKey('RS256')
  const es = await signingKey('ES256')
  const jwks: JSONWebKeySet = { keys: [rs.jwk, es.jwk] }
  const jwksBody = JSON.stringify(jwks)
  const jwksServer = createServer((req, res) => {
    if (req.url !== '/jwks') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwksBody)
  })
  const jwksPort = await listen(jwksServer)
  const downstreams = await startDownstreams(idp.issuer, AUDIENCE)

  return {
    idp,
    clientSecret,
    sessionSecret,
    jwksUri: `http://127.0.0.1:${jwksPort}/jwks`,
    jwks,
    tokens: { rs256: await accessToken(rs), es256: await accessToken(es) },
    mintRs256: async (count) => {
      const tokens: string[] = []
      for (let i = 0; i < count; i++) tokens.push(await accessToken(rs))
      return tokens
    },
    issued,
    downstreams,
    close: async () => {
      await downstreams.close()
      jwksServer.closeAllConnections()
      await new Promise<void>((resolve) => jwksServer.close(() => resolve()))
      await idp.close()
    }
  }
}

/**
 * Logs in for real: a fresh cookie jar follows `startUrl` (an app's login
 * route) to the dev IdP's login and consent forms and back through the app's
 * callback. Returns the app's cookies that `keep` selects, as a `cookie` header.
 */
export async function browserLogin (startUrl: string, keep: (name: string) => boolean): Promise<string> {
  const browser = new Browser()
  const final = await loginAtProvider(browser, startUrl, { login: SUB })
  const cookies = Object.entries(await browser.cookies(startUrl)).filter(([name]) => keep(name))
  if (cookies.length === 0) {
    throw new Error(`login through ${startUrl} gave no session cookie (ended with ${final.status} at ${final.url})`)
  }
  return cookies.map(([name, value]) => `${name}=${value}`).join('; ')
}

/**
 * The token set and user claims of a real login, shaped as fastify-oidc keeps
 * them (`OidcTokenSet`, the ID token's claims without the protocol-only ones):
 * what the session rows 2 and 6 are given to hold.
 */
export function sessionDataOf (issued: IssuedTokens): SessionData {
  const { body } = issued
  if (body.id_token === undefined) throw new Error('the dev IdP sent no ID token')
  const { nonce: _nonce, at_hash: _atHash, c_hash: _cHash, ...claims } = decodeJwt(body.id_token)
  const tokens: Record<string, unknown> = {
    accessToken: body.access_token,
    tokenType: body.token_type,
    refreshToken: body.refresh_token,
    idToken: body.id_token,
    expiresAt: Math.floor(Date.now() / 1000) + (body.expires_in ?? 3600),
    scope: body.scope
  }
  return { user: claims as SessionData['user'], tokens }
}
