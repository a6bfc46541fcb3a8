// A hostile, fully scriptable OpenID provider for attack tests against the relying party.
//
// Real HTTP on 127.0.0.1 (node:http) and real signatures (jose): no mocking library.
// By default it behaves like a correct, strict OP (authorization code + PKCE S256, single-use
// codes, exact redirect_uri match, client authentication, RS256 ID tokens with at_hash).
// Every endpoint can be scripted to misbehave: wrong claims, alg none, HS256 signed with the
// RSA public key, flipped signatures, key rotation, slow answers, reset connections, ...

import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { SignJWT, UnsecuredJWT, calculateJwkThumbprint, decodeProtectedHeader, exportJWK, exportSPKI, generateKeyPair, importJWK, jwtVerify } from 'jose'
import type { CryptoKey, JWK, JWTHeaderParameters, JWTPayload } from 'jose'

/** Asymmetric algorithms the OP has keys for. */
export type OpKeyAlg = 'RS256' | 'ES256'

/** Algorithms `signIdToken` can produce. */
export type IdTokenAlg = OpKeyAlg | 'HS256' | 'none'

/** A signing key pair of the OP. */
export interface OpKey {
  kid: string
  alg: OpKeyAlg
  privateKey: CryptoKey
  publicKey: CryptoKey
  /** Public JWK as served at /jwks (with kid, alg and use: 'sig'). */
  publicJwk: JWK
  /** SPKI PEM of the public key (the bytes an attacker would use as an HMAC secret). */
  publicPem: string
}

export interface OpKeys {
  /** Current RSA key: signs the default ID tokens. */
  rsa: OpKey
  /** Current EC P-256 key. */
  ec: OpKey
  /** Keys replaced by `rotateKeys()`, most recent first. */
  retired: OpKey[]
  /** Keys served at GET /jwks, in order. Mutable: tests may push, reorder or empty it. */
  published: OpKey[]
}

/** The discovery document. Every field is optional so tests can delete or replace any of them. */
export interface OpMetadata {
  issuer?: string
  authorization_endpoint?: string
  token_endpoint?: string
  jwks_uri?: string
  userinfo_endpoint?: string
  end_session_endpoint?: string
  revocation_endpoint?: string
  response_types_supported?: string[]
  subject_types_supported?: string[]
  id_token_signing_alg_values_supported?: string[]
  code_challenge_methods_supported?: string[]
  token_endpoint_auth_methods_supported?: string[]
  authorization_response_iss_parameter_supported?: boolean
  [key: string]: unknown
}

/** What GET /authorize remembered under a code. */
export interface AuthorizationRecord {
  code: string
  state: string | undefined
  nonce: string | undefined
  redirect_uri: string
  code_challenge: string | undefined
  code_challenge_method: string | undefined
  client_id: string | undefined
  scope: string | undefined
}

/** One request received by the OP, in arrival order. */
export interface LoggedRequest {
  method: string
  /** The path, without the `endpointPrefix` when it starts with it. */
  path: string
  /** The path exactly as the request target carried it (e.g. `//api/oidc/token`). */
  rawPath: string
  query: Record<string, string>
  /** Form body (application/x-www-form-urlencoded); {} for other bodies. */
  body: Record<string, string>
  /** The body as received. */
  rawBody: string
  headers: IncomingHttpHeaders
  /** Date.now() at arrival. */
  at: number
}

/**
 * How to answer a scripted request. Every field is optional: an omitted field keeps the
 * default answer's value (so `{ delayMs: 5000 }` is the default answer, five seconds late).
 */
export interface ResponseScript {
  status?: number
  /** A string is sent as is (text/plain unless headers say otherwise); anything else as JSON. */
  body?: unknown
  headers?: Record<string, string>
  /** Wait this long before answering (or destroying). */
  delayMs?: number
  /** Destroy the socket instead of answering. */
  destroy?: boolean
}

export type TokenScript = ResponseScript

/** Scripts may return undefined to keep the default answer. */
export type MaybePromise<T> = T | Promise<T>

export interface OAuthError {
  status: number
  body: { error: string, error_description: string }
  headers?: Record<string, string>
}

/** How the client authenticated at the token endpoint. */
export interface ClientAuth {
  method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'
  clientId: string | undefined
  clientSecret: string | undefined
  /** private_key_jwt: the assertion's protected header and claims (whether or not it verified). */
  assertion?: { header: Record<string, unknown>, claims: JWTPayload }
}

export interface TokenContext {
  grantType: string
  params: URLSearchParams
  headers: IncomingHttpHeaders
  client: ClientAuth
  /** The authorize parameters the code (or the refresh token) was issued for, if known. */
  authorization?: AuthorizationRecord
  /** The error the OP answers by default when the request is invalid (unknown code, bad PKCE...). */
  error?: OAuthError
  /** The access token of the default answer. */
  accessToken: string
  /** The refresh token of the default answer. */
  refreshToken: string
  /** Claims of a valid ID token for this request (nonce, at_hash of `accessToken`). */
  defaultClaims(): JWTPayload
  sign(claims: JWTPayload, opts?: IdTokenSignOptions): Promise<string>
  /** The default success body (access_token, token_type, expires_in, refresh_token, id_token, scope). */
  defaultBody(): Promise<Record<string, unknown>>
}

export interface UserinfoContext {
  accessToken: string | undefined
  /** Whether the access token was issued by this OP (and not revoked). */
  valid: boolean
  headers: IncomingHttpHeaders
  defaultClaims(): Record<string, unknown>
}

export interface IdTokenSignOptions {
  /** Default 'RS256'. */
  alg?: IdTokenAlg
  /**
   * Header kid. Default: the kid of the key used (for HS256 with 'public-pem' or an OpKey: that
   * RSA key's kid, as an attacker would copy it). null omits it.
   */
  kid?: string | null
  /**
   * RS256/ES256: an OpKey or a private CryptoKey (default: the current key of that type).
   * HS256: 'public-pem' (default: the current RSA public key PEM as the HMAC secret, the
   * key-confusion attack), an OpKey (its public PEM), a string (UTF-8 secret, e.g. the client
   * secret) or raw bytes. Ignored for 'none'.
   */
  key?: OpKey | CryptoKey | Uint8Array | string
  /** Header typ; omitted by default. */
  typ?: string
  /** Extra protected header parameters (jku, jwk, x5u, crit...). Cannot change alg. */
  header?: Record<string, unknown>
}

export interface HostileOpOptions {
  /** Default 'test-client'. */
  clientId?: string
  /** Default 'test-secret'. null makes a public client (token endpoint auth method 'none'). */
  clientSecret?: string | null
  /** Advertise and send the RFC 9207 iss authorization response parameter. Default true. */
  issResponseParameter?: boolean
  /**
   * Prefix of every endpoint's path, e.g. `//api/oidc` (glewlwyd with Debian's default
   * `external_url` advertises `http://localhost:4593//api/oidc/auth`). Requests are
   * answered with or without it. Default none.
   */
  endpointPrefix?: string
  /** Appended to `http://127.0.0.1:<port>` to make the issuer, e.g. `/` (a trailing-slash issuer). Default none. */
  issuerPath?: string
  /**
   * A private_key_jwt client: the public JWK its assertions must verify with (iss = sub = client id,
   * aud the issuer or the token endpoint, unused jti). Default none (clientSecret rules).
   */
  clientPublicJwk?: JWK
}

export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface HostileOp {
  /** 'http://127.0.0.1:<port>' — unchanged by metadata mutations and by stop(). */
  readonly issuer: string
  readonly port: number
  readonly clientId: string
  readonly clientSecret: string | null
  /** Served at GET /.well-known/openid-configuration. Mutable and replaceable. */
  metadata: OpMetadata
  readonly keys: OpKeys
  /** Public JWK of the current RSA key. */
  readonly publicJwk: JWK
  /** SPKI PEM of the current RSA public key. */
  readonly publicPem: string
  /** User claims put in ID tokens and userinfo answers (sub 'alice', email, name, roles). Mutable. */
  user: { sub: string, [claim: string]: unknown }
  /** Lifetime (seconds) of default ID tokens and access tokens. Default 300. */
  tokenTtl: number
  readonly log: LoggedRequest[]
  /** Outstanding (unused) codes. */
  readonly authorizations: Map<string, AuthorizationRecord>
  /** Errors thrown by scripts or by the OP itself (answered with 500). */
  readonly errors: unknown[]

  onAuthorize?: (params: URLSearchParams, defaults: Record<string, string>) => MaybePromise<Record<string, string>>
  onToken?: (ctx: TokenContext) => MaybePromise<TokenScript | undefined>
  onUserinfo?: (ctx: UserinfoContext) => MaybePromise<ResponseScript | undefined>
  onJwks?: (defaults: { keys: JWK[] }) => MaybePromise<ResponseScript | undefined>
  onDiscovery?: (defaults: OpMetadata) => MaybePromise<ResponseScript | undefined>
  onRevoke?: (params: URLSearchParams) => MaybePromise<ResponseScript | undefined>
  onLogout?: (params: URLSearchParams) => MaybePromise<ResponseScript | undefined>
  /** POST /par (RFC 9126), after client authentication: script the answer (default 201 with a request_uri). */
  onPar?: (params: URLSearchParams, client: ClientAuth) => MaybePromise<ResponseScript | undefined>

  /** Absolute URL of a path on this OP. */
  url(path: string): string
  /** Logged requests whose path is `path` (optionally with that method). */
  requests(path: string, method?: string): LoggedRequest[]
  /** The JWK set currently served. */
  jwks(): { keys: JWK[] }
  /** New current RSA and EC keys (new kids). Only they are served unless keepOld. Returns the new RSA key. */
  rotateKeys(opts?: { keepOld?: boolean }): Promise<OpKey>
  /** Claims of a valid ID token (iss, sub, aud, exp, iat, nonce?, at_hash?, email, name, roles). */
  defaultIdTokenClaims(opts?: { nonce?: string, accessToken?: string, alg?: string }): JWTPayload
  signIdToken(claims: JWTPayload, opts?: IdTokenSignOptions): Promise<string>
  /** The same JWT with one signature byte altered. */
  flipSignature(jwt: string): string
  /** OIDC Core 3.1.3.6 at_hash of an access token for a JWS alg (default RS256). */
  atHash(accessToken: string, alg?: string): string
  /** Remember an authorization as GET /authorize would, and return its fresh code. */
  mintCode(record: Partial<Omit<AuthorizationRecord, 'code'>> & { redirect_uri: string }): string
  /** Close the listening socket and every connection: the issuer becomes unreachable. */
  stop(): Promise<void>
  /** Same as stop(); idempotent. */
  close(): Promise<void>
}

const FORM = 'application/x-www-form-urlencoded'
const MAX_BODY = 1024 * 1024

export function randomToken (bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

export function s256 (verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url')
}

export function atHash (accessToken: string, alg = 'RS256'): string {
  let hash: string
  if (alg === 'EdDSA' || alg === 'Ed25519') {
    hash = 'sha512'
  } else {
    const bits = /^(?:[HRPE]S)(256|384|512)$/.exec(alg)?.[1]
    if (bits === undefined) throw new Error(`atHash: unsupported alg ${alg}`)
    hash = `sha${bits}`
  }
  const digest = createHash(hash).update(accessToken, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/** A fresh key pair, not published by any OP (to sign with a key the RP must not trust). */
export async function generateOpKey (alg: OpKeyAlg, kid?: string): Promise<OpKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const keyId = kid ?? await calculateJwkThumbprint(jwk)
  return {
    kid: keyId,
    alg,
    privateKey,
    publicKey,
    publicJwk: { ...jwk, kid: keyId, alg, use: 'sig' },
    publicPem: await exportSPKI(publicKey)
  }
}

function isOpKey (key: unknown): key is OpKey {
  return typeof key === 'object' && key !== null && 'privateKey' in key && 'publicPem' in key
}

function b64json (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** RFC 6749 2.3.1: client id and secret are form-url-encoded before Basic encoding. */
function formDecode (value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '))
}

function lowerKeys (headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v
  return out
}

function oauthError (status: number, error: string, description: string, headers?: Record<string, string>): OAuthError {
  return { status, body: { error, error_description: description }, headers }
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > MAX_BODY) throw new Error('request body too large')
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

class HostileOpServer implements HostileOp {
  readonly issuer: string
  readonly port: number
  readonly clientId: string
  readonly clientSecret: string | null
  metadata: OpMetadata
  readonly keys: OpKeys
  user: { sub: string, [claim: string]: unknown } = {
    sub: 'alice',
    email: 'alice@example.com',
    name: 'Alice Liddell',
    roles: ['user']
  }

  tokenTtl = 300
  readonly log: LoggedRequest[] = []
  readonly authorizations = new Map<string, AuthorizationRecord>()
  readonly errors: unknown[] = []

  onAuthorize?: HostileOp['onAuthorize']
  onToken?: HostileOp['onToken']
  onUserinfo?: HostileOp['onUserinfo']
  onJwks?: HostileOp['onJwks']
  onDiscovery?: HostileOp['onDiscovery']
  onRevoke?: HostileOp['onRevoke']
  onLogout?: HostileOp['onLogout']
  onPar?: HostileOp['onPar']

  readonly #server: Server
  readonly #origin: string
  readonly #prefix: string
  readonly #sockets = new Set<Socket>()
  readonly #sleepers = new Set<() => void>()
  readonly #usedCodes = new Set<string>()
  readonly #accessTokens = new Set<string>()
  readonly #refreshTokens = new Map<string, AuthorizationRecord | undefined>()
  readonly #clientJwk: JWK | undefined
  readonly #usedJtis = new Set<string>()
  /** Pushed authorization requests by request_uri, single use. */
  readonly #pushed = new Map<string, URLSearchParams>()
  #closing: Promise<void> | undefined

  constructor (server: Server, rsa: OpKey, ec: OpKey, options: HostileOpOptions) {
    this.#server = server
    this.port = (server.address() as AddressInfo).port
    this.#origin = `http://127.0.0.1:${this.port}`
    this.#prefix = options.endpointPrefix ?? ''
    this.issuer = `${this.#origin}${options.issuerPath ?? ''}`
    this.clientId = options.clientId ?? 'test-client'
    this.clientSecret = options.clientPublicJwk !== undefined ? null : options.clientSecret === undefined ? 'test-secret' : options.clientSecret
    this.#clientJwk = options.clientPublicJwk
    this.keys = { rsa, ec, retired: [], published: [rsa, ec] }
    this.metadata = {
      issuer: this.issuer,
      authorization_endpoint: this.url('/authorize'),
      token_endpoint: this.url('/token'),
      jwks_uri: this.url('/jwks'),
      userinfo_endpoint: this.url('/userinfo'),
      end_session_endpoint: this.url('/logout'),
      revocation_endpoint: this.url('/revoke'),
      pushed_authorization_request_endpoint: this.url('/par'),
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      authorization_response_iss_parameter_supported: options.issResponseParameter ?? true
    }

    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.errors.push(err)
        if (res.headersSent || res.destroyed) {
          res.destroy()
        } else {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`hostile-op error: ${String(err)}`)
        }
      })
    })
  }

  get publicJwk (): JWK {
    return this.keys.rsa.publicJwk
  }

  get publicPem (): string {
    return this.keys.rsa.publicPem
  }

  url (path: string): string {
    // Concatenated, never resolved: `new URL('//api/x', origin)` would read `api` as a host.
    return path.startsWith('/') ? `${this.#origin}${this.#prefix}${path}` : new URL(path, this.issuer).href
  }

  requests (path: string, method?: string): LoggedRequest[] {
    return this.log.filter((r) => r.path === path && (method === undefined || r.method === method.toUpperCase()))
  }

  jwks (): { keys: JWK[] } {
    return { keys: this.keys.published.map((k) => ({ ...k.publicJwk })) }
  }

  async rotateKeys (opts: { keepOld?: boolean } = {}): Promise<OpKey> {
    const [rsa, ec] = await Promise.all([generateOpKey('RS256'), generateOpKey('ES256')])
    this.keys.retired.unshift(this.keys.rsa, this.keys.ec)
    this.keys.rsa = rsa
    this.keys.ec = ec
    this.keys.published = opts.keepOld === true ? [rsa, ec, ...this.keys.published] : [rsa, ec]
    return rsa
  }

  defaultIdTokenClaims (opts: { nonce?: string, accessToken?: string, alg?: string } = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000)
    const claims: JWTPayload = {
      iss: this.issuer,
      ...this.user,
      aud: this.clientId,
      exp: now + this.tokenTtl,
      iat: now
    }
    if (opts.nonce !== undefined) claims.nonce = opts.nonce
    if (opts.accessToken !== undefined) claims.at_hash = atHash(opts.accessToken, opts.alg ?? 'RS256')
    return claims
  }

  async signIdToken (claims: JWTPayload, opts: IdTokenSignOptions = {}): Promise<string> {
    const alg = opts.alg ?? 'RS256'
    const extra: Record<string, unknown> = { ...opts.header }
    if (opts.typ !== undefined) extra.typ = opts.typ

    if (alg === 'none') {
      if (opts.kid !== undefined && opts.kid !== null) extra.kid = opts.kid
      if (Object.keys(extra).length === 0) return new UnsecuredJWT(claims).encode()
      return `${b64json({ ...extra, alg: 'none' })}.${b64json(claims)}.`
    }

    let key: CryptoKey | Uint8Array
    let kid: string | undefined
    if (alg === 'HS256') {
      const k = opts.key ?? 'public-pem'
      if (k === 'public-pem' || isOpKey(k)) {
        const source = isOpKey(k) ? k : this.keys.rsa
        key = new TextEncoder().encode(source.publicPem)
        kid = source.kid
      } else if (typeof k === 'string') {
        key = new TextEncoder().encode(k)
      } else {
        key = k
      }
    } else {
      const k = opts.key ?? (alg === 'RS256' ? this.keys.rsa : this.keys.ec)
      if (isOpKey(k)) {
        key = k.privateKey
        kid = k.kid
      } else if (typeof k === 'string') {
        throw new TypeError(`signIdToken: a string key is only usable with HS256, not ${alg}`)
      } else {
        key = k
      }
    }
    if (opts.kid !== undefined) kid = opts.kid ?? undefined

    const header: Record<string, unknown> = { ...(kid === undefined ? {} : { kid }), ...extra, alg }
    const crit = Array.isArray(header.crit) ? (header.crit as unknown[]).filter((c): c is string => typeof c === 'string') : []
    return await new SignJWT(claims)
      .setProtectedHeader(header as JWTHeaderParameters)
      .sign(key, crit.length > 0 ? { crit: Object.fromEntries(crit.map((c) => [c, true])) } : undefined)
  }

  flipSignature (jwt: string): string {
    const parts = jwt.split('.')
    const [header, payload, signature] = parts
    if (parts.length !== 3 || header === undefined || payload === undefined || signature === undefined || signature === '') {
      throw new Error('flipSignature: not a signed compact JWS')
    }
    const sig = Buffer.from(signature, 'base64url')
    const i = sig.length >> 1
    sig[i] = (sig[i] ?? 0) ^ 0x01
    return `${header}.${payload}.${sig.toString('base64url')}`
  }

  atHash (accessToken: string, alg = 'RS256'): string {
    return atHash(accessToken, alg)
  }

  mintCode (record: Partial<Omit<AuthorizationRecord, 'code'>> & { redirect_uri: string }): string {
    const code = randomToken()
    this.authorizations.set(code, {
      code,
      state: record.state,
      nonce: record.nonce,
      redirect_uri: record.redirect_uri,
      code_challenge: record.code_challenge,
      code_challenge_method: record.code_challenge_method,
      client_id: record.client_id ?? this.clientId,
      scope: record.scope
    })
    return code
  }

  stop (): Promise<void> {
    if (this.#closing === undefined) {
      this.#closing = new Promise<void>((resolve) => {
        this.#server.close(() => resolve())
        for (const socket of this.#sockets) socket.destroy()
        this.#sockets.clear()
        for (const wake of [...this.#sleepers]) wake()
      })
    }
    return this.#closing
  }

  close (): Promise<void> {
    return this.stop()
  }

  // ---------------------------------------------------------------------------------------

  #sleep (ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.#sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.#sleepers.add(wake)
    })
  }

  async #send (
    req: IncomingMessage,
    res: ServerResponse,
    script: ResponseScript | undefined,
    status: number,
    defaultBody: () => MaybePromise<unknown>,
    defaultHeaders: Record<string, string> = {}
  ): Promise<void> {
    const s = script ?? {}
    if (s.delayMs !== undefined && s.delayMs > 0) await this.#sleep(s.delayMs)
    if (this.#closing !== undefined || res.destroyed) {
      req.socket.destroy()
      return
    }
    if (s.destroy === true) {
      req.socket.destroy()
      return
    }
    const body = s.body !== undefined ? s.body : await defaultBody()
    const headers = { ...lowerKeys(defaultHeaders), ...lowerKeys(s.headers) }
    let payload: string
    if (typeof body === 'string') {
      payload = body
      headers['content-type'] ??= 'text/plain; charset=utf-8'
    } else {
      payload = body === undefined ? '' : JSON.stringify(body)
      headers['content-type'] ??= 'application/json'
    }
    headers['cache-control'] ??= 'no-store'
    res.writeHead(s.status ?? status, headers).end(payload)
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(`${this.#origin}${req.url ?? '/'}`)
    const method = req.method ?? 'GET'
    const prefixed = this.#prefix !== '' && url.pathname.startsWith(`${this.#prefix}/`)
    const entry: LoggedRequest = {
      method,
      path: prefixed ? url.pathname.slice(this.#prefix.length) : url.pathname,
      rawPath: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: {},
      rawBody: '',
      headers: req.headers,
      at: Date.now()
    }
    this.log.push(entry)

    entry.rawBody = await readBody(req)
    const isForm = (req.headers['content-type'] ?? '').toLowerCase().split(';')[0]?.trim() === FORM
    const form = new URLSearchParams(isForm ? entry.rawBody : '')
    entry.body = Object.fromEntries(form)

    switch (entry.path) {
      case '/.well-known/openid-configuration': {
        const defaults = this.metadata
        const script = this.onDiscovery === undefined ? undefined : await this.onDiscovery(defaults)
        return this.#send(req, res, script, 200, () => defaults)
      }
      case '/jwks': {
        const defaults = this.jwks()
        const script = this.onJwks === undefined ? undefined : await this.onJwks(defaults)
        return this.#send(req, res, script, 200, () => defaults)
      }
      case '/authorize':
        return this.#authorize(res, this.#pushedParams(url.searchParams))
      case '/par': {
        if (method !== 'POST') return this.#send(req, res, undefined, 405, () => ({ error: 'invalid_request', error_description: 'POST only' }))
        const auth = await this.#clientAuth(req.headers, form)
        const script = this.onPar === undefined ? undefined : await this.onPar(form, auth.client)
        if (auth.error !== undefined) return this.#send(req, res, script, auth.error.status, () => auth.error!.body, auth.error.headers)
        const requestUri = `urn:ietf:params:oauth:request_uri:${randomToken()}`
        const pushed = new URLSearchParams(form)
        for (const name of ['client_assertion', 'client_assertion_type', 'client_secret']) pushed.delete(name)
        pushed.set('client_id', auth.client.clientId!)
        this.#pushed.set(requestUri, pushed)
        return this.#send(req, res, script, 201, () => ({ request_uri: requestUri, expires_in: 60 }))
      }
      case '/token':
        if (method !== 'POST') return this.#send(req, res, undefined, 405, () => ({ error: 'invalid_request', error_description: 'POST only' }))
        return this.#token(req, res, form, isForm)
      case '/userinfo':
        return this.#userinfo(req, res, form)
      case '/revoke': {
        if (method !== 'POST') return this.#send(req, res, undefined, 405, () => ({ error: 'invalid_request', error_description: 'POST only' }))
        const token = form.get('token')
        if (token !== null) {
          this.#accessTokens.delete(token)
          this.#refreshTokens.delete(token)
        }
        const script = this.onRevoke === undefined ? undefined : await this.onRevoke(form)
        return this.#send(req, res, script, 200, () => '')
      }
      case '/logout': {
        const params = method === 'POST' ? form : url.searchParams
        const script = this.onLogout === undefined ? undefined : await this.onLogout(params)
        return this.#send(req, res, script, 200, () => 'logged out')
      }
      default:
        return this.#send(req, res, undefined, 404, () => ({ error: 'not_found' }))
    }
  }

  /** An authorization request by request_uri: the pushed parameters (once); an unknown or used one keeps none. */
  #pushedParams (params: URLSearchParams): URLSearchParams {
    const requestUri = params.get('request_uri')
    if (requestUri === null) return params
    const pushed = this.#pushed.get(requestUri)
    this.#pushed.delete(requestUri)
    return pushed !== undefined && pushed.get('client_id') === params.get('client_id') ? pushed : new URLSearchParams({ client_id: params.get('client_id') ?? '' })
  }

  async #authorize (res: ServerResponse, params: URLSearchParams): Promise<void> {
    const redirectUri = params.get('redirect_uri')
    if (redirectUri === null || !URL.canParse(redirectUri)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid redirect_uri')
      return
    }
    if (params.get('client_id') !== this.clientId) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown client_id')
      return
    }

    const defaults: Record<string, string> = {}
    const method = params.get('code_challenge_method')
    const scopes = (params.get('scope') ?? '').split(' ')
    if (params.get('response_type') !== 'code') {
      defaults.error = 'unsupported_response_type'
      defaults.error_description = 'only response_type=code is supported'
    } else if (!scopes.includes('openid')) {
      defaults.error = 'invalid_scope'
      defaults.error_description = 'scope must include openid'
    } else if (method !== null && method !== 'S256') {
      defaults.error = 'invalid_request'
      defaults.error_description = 'code_challenge_method must be S256'
    } else {
      defaults.code = this.mintCode({
        state: params.get('state') ?? undefined,
        nonce: params.get('nonce') ?? undefined,
        redirect_uri: redirectUri,
        code_challenge: params.get('code_challenge') ?? undefined,
        code_challenge_method: method ?? undefined,
        client_id: params.get('client_id') ?? undefined,
        scope: params.get('scope') ?? undefined
      })
    }
    const state = params.get('state')
    if (state !== null) defaults.state = state
    if (this.metadata.authorization_response_iss_parameter_supported === true) defaults.iss = this.issuer

    const answer = this.onAuthorize === undefined ? defaults : await this.onAuthorize(params, { ...defaults })
    const location = new URL(redirectUri)
    for (const [k, v] of Object.entries(answer)) location.searchParams.append(k, v)
    res.writeHead(302, { location: location.href, 'cache-control': 'no-store' }).end()
  }

  async #clientAuth (headers: IncomingHttpHeaders, form: URLSearchParams): Promise<{ client: ClientAuth, error?: OAuthError }> {
    const assertion = form.get('client_assertion')
    if (assertion !== null) return await this.#assertionAuth(assertion, form)
    const basicChallenge = { 'www-authenticate': 'Basic realm="hostile-op"' }
    const authz = headers.authorization
    if (authz !== undefined && /^basic /i.test(authz)) {
      const decoded = Buffer.from(authz.slice(6).trim(), 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      let client: ClientAuth = { method: 'client_secret_basic', clientId: undefined, clientSecret: undefined }
      if (colon === -1) return { client, error: oauthError(401, 'invalid_client', 'malformed Basic credentials', basicChallenge) }
      try {
        client = { ...client, clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) }
      } catch {
        return { client, error: oauthError(401, 'invalid_client', 'Basic credentials are not form-url-encoded', basicChallenge) }
      }
      if (form.has('client_secret')) {
        return { client, error: oauthError(400, 'invalid_request', 'more than one client authentication method') }
      }
      const bodyId = form.get('client_id')
      if (bodyId !== null && bodyId !== client.clientId) {
        return { client, error: oauthError(400, 'invalid_request', 'client_id in body differs from Basic credentials') }
      }
      return { client, error: this.#checkClient(client, basicChallenge) }
    }
    const client: ClientAuth = {
      method: form.has('client_secret') ? 'client_secret_post' : 'none',
      clientId: form.get('client_id') ?? undefined,
      clientSecret: form.get('client_secret') ?? undefined
    }
    return { client, error: this.#checkClient(client, {}) }
  }

  /** RFC 7523 client authentication: the assertion verifies with the registered key, names the client, is for this OP, and is new. */
  async #assertionAuth (assertion: string, form: URLSearchParams): Promise<{ client: ClientAuth, error?: OAuthError }> {
    const client: ClientAuth = { method: 'private_key_jwt', clientId: form.get('client_id') ?? undefined, clientSecret: undefined }
    const refuse = (why: string): { client: ClientAuth, error: OAuthError } => ({ client, error: oauthError(401, 'invalid_client', why) })
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return refuse('wrong client_assertion_type')
    if (this.#clientJwk === undefined) return refuse('this client does not use private_key_jwt')
    try {
      const header = decodeProtectedHeader(assertion) as Record<string, unknown>
      const { payload } = await jwtVerify(assertion, await importJWK(this.#clientJwk, String(header['alg'])), {
        issuer: this.clientId, subject: this.clientId, audience: [this.issuer, this.url('/token'), this.url('/par'), this.url('/revoke')], maxTokenAge: 300
      })
      client.assertion = { header, claims: payload }
      client.clientId ??= payload.sub
      if (typeof payload.jti !== 'string' || this.#usedJtis.has(payload.jti)) return refuse('jti missing or replayed')
      this.#usedJtis.add(payload.jti)
    } catch {
      return refuse('the client assertion does not verify')
    }
    return { client, error: client.clientId === this.clientId ? undefined : oauthError(401, 'invalid_client', 'unknown client') }
  }

  #checkClient (client: ClientAuth, challenge: Record<string, string>): OAuthError | undefined {
    if (client.clientId !== this.clientId) return oauthError(401, 'invalid_client', 'unknown client', challenge)
    if (this.#clientJwk !== undefined) return oauthError(401, 'invalid_client', 'this client authenticates with private_key_jwt', challenge)
    if (this.clientSecret === null) {
      if (client.method !== 'none') return oauthError(401, 'invalid_client', 'public client must not authenticate with a secret', challenge)
      return undefined
    }
    if (client.method === 'none') return oauthError(401, 'invalid_client', 'client authentication required', challenge)
    if (client.clientSecret !== this.clientSecret) return oauthError(401, 'invalid_client', 'invalid client secret', challenge)
    return undefined
  }

  async #token (req: IncomingMessage, res: ServerResponse, form: URLSearchParams, isForm: boolean): Promise<void> {
    const grantType = form.get('grant_type') ?? ''
    let error: OAuthError | undefined
    const fail = (e: OAuthError): void => { error ??= e }

    if (!isForm) fail(oauthError(400, 'invalid_request', `content-type must be ${FORM}`))
    const seen = new Set<string>()
    for (const key of form.keys()) {
      if (seen.has(key)) fail(oauthError(400, 'invalid_request', `duplicate parameter ${key}`))
      seen.add(key)
    }
    const auth = await this.#clientAuth(req.headers, form)
    if (auth.error !== undefined) fail(auth.error)
    const client = auth.client

    let authorization: AuthorizationRecord | undefined
    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? ''
      authorization = this.authorizations.get(code)
      if (authorization === undefined) {
        fail(oauthError(400, 'invalid_grant', this.#usedCodes.has(code) ? 'code already used' : 'unknown code'))
      } else {
        // single use, whatever the outcome
        this.authorizations.delete(code)
        this.#usedCodes.add(code)
        const verifier = form.get('code_verifier')
        if (authorization.client_id !== client.clientId) {
          fail(oauthError(400, 'invalid_grant', 'code was issued to another client'))
        } else if (form.get('redirect_uri') !== authorization.redirect_uri) {
          fail(oauthError(400, 'invalid_grant', 'redirect_uri mismatch'))
        } else if (authorization.code_challenge !== undefined) {
          if (verifier === null) fail(oauthError(400, 'invalid_grant', 'code_verifier required'))
          else if ((authorization.code_challenge_method ?? 'plain') !== 'S256') fail(oauthError(400, 'invalid_grant', 'only S256 is supported'))
          else if (s256(verifier) !== authorization.code_challenge) fail(oauthError(400, 'invalid_grant', 'PKCE verification failed'))
        } else if (verifier !== null) {
          // RFC 9700 2.1.1: PKCE downgrade protection
          fail(oauthError(400, 'invalid_grant', 'code_verifier sent but no code_challenge was'))
        }
      }
    } else if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? ''
      if (!this.#refreshTokens.has(token)) {
        fail(oauthError(400, 'invalid_grant', 'unknown refresh token'))
      } else {
        authorization = this.#refreshTokens.get(token)
        if (authorization !== undefined && authorization.client_id !== client.clientId) {
          fail(oauthError(400, 'invalid_grant', 'refresh token was issued to another client'))
        }
      }
    } else {
      fail(oauthError(400, 'unsupported_grant_type', `unsupported grant_type ${grantType}`))
    }

    const accessToken = randomToken()
    const refreshToken = randomToken()
    const nonce = grantType === 'authorization_code' ? authorization?.nonce : undefined
    const defaultClaims = (): JWTPayload => this.defaultIdTokenClaims({ nonce, accessToken })
    const defaultBody = async (): Promise<Record<string, unknown>> => ({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.tokenTtl,
      refresh_token: refreshToken,
      id_token: await this.signIdToken(defaultClaims()),
      scope: authorization?.scope ?? 'openid'
    })
    const ctx: TokenContext = {
      grantType,
      params: form,
      headers: req.headers,
      client,
      authorization,
      error,
      accessToken,
      refreshToken,
      defaultClaims,
      sign: (claims, opts) => this.signIdToken(claims, opts),
      defaultBody
    }

    const script = this.onToken === undefined ? undefined : await this.onToken(ctx)
    const failure = error as OAuthError | undefined
    const status = script?.status ?? failure?.status ?? 200
    await this.#send(req, res, script, failure?.status ?? 200, async () => {
      const body = failure === undefined ? await defaultBody() : failure.body
      return body
    }, failure?.headers)
    if (status >= 200 && status < 300 && !res.destroyed) this.#remember(script, failure === undefined ? { access_token: accessToken, refresh_token: refreshToken } : undefined, authorization)
  }

  /** Tokens in a successful answer become valid at /userinfo and /token. */
  #remember (script: TokenScript | undefined, defaults: Record<string, unknown> | undefined, authorization: AuthorizationRecord | undefined): void {
    if (script?.destroy === true) return
    const body = script?.body !== undefined ? script.body : defaults
    if (typeof body !== 'object' || body === null) return
    const { access_token: at, refresh_token: rt } = body as Record<string, unknown>
    if (typeof at === 'string') this.#accessTokens.add(at)
    if (typeof rt === 'string') this.#refreshTokens.set(rt, authorization)
  }

  async #userinfo (req: IncomingMessage, res: ServerResponse, form: URLSearchParams): Promise<void> {
    const authz = req.headers.authorization
    let accessToken: string | undefined
    if (authz !== undefined && /^bearer /i.test(authz)) accessToken = authz.slice(7).trim()
    else if (req.method === 'POST') accessToken = form.get('access_token') ?? undefined
    const valid = accessToken !== undefined && this.#accessTokens.has(accessToken)
    const defaultClaims = (): Record<string, unknown> => ({ ...this.user })
    const script = this.onUserinfo === undefined
      ? undefined
      : await this.onUserinfo({ accessToken, valid, headers: req.headers, defaultClaims })
    if (valid) return this.#send(req, res, script, 200, defaultClaims)
    return this.#send(req, res, script, 401, () => ({ error: 'invalid_token', error_description: 'unknown access token' }), {
      'www-authenticate': 'Bearer error="invalid_token"'
    })
  }
}

/**
 * Start a hostile OP on 127.0.0.1 (random port). With `t`, it is closed on teardown.
 */
export async function startHostileOp (t?: Teardown, options: HostileOpOptions = {}): Promise<HostileOp> {
  const [rsa, ec] = await Promise.all([generateOpKey('RS256'), generateOpKey('ES256')])
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const op = new HostileOpServer(server, rsa, ec, options)
  t?.teardown(() => op.close())
  return op
}
