// Downstream services for the forwarding tests: a real HTTP server on loopback
// (dual-stack, so 127.0.0.1, [::1] and localhost all reach it) that records every
// connection and request and answers what the test scripts; and the app under
// test, logged in through the real dev IdP, with routes that call
// request.oidc.fetch / forwardHeaders as the test asks.
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Browser, json, loginAtProvider } from './browser.js'
import { buildApp, type BuildAppOptions, type TestApp } from './build-app.js'
import { recordIssuedTokens, type IssuedTokens } from './issued-tokens.js'
import { freePort, startProvider, type Teardownable, type TestProvider, type TestProviderOptions } from './provider.js'

export interface DownstreamRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

export interface DownstreamAnswer {
  status?: number
  headers?: Record<string, string>
  body?: string
}

/** Answers the `index`-th request (0-based), possibly later; undefined: 200 `{"ok":true,"n":<index + 1>}`. */
export type DownstreamScript = (request: DownstreamRequest, index: number) => DownstreamAnswer | undefined | Promise<DownstreamAnswer | undefined>

export interface Downstream {
  /** `http://127.0.0.1:<port>` */
  origin: string
  port: number
  /** Every request received, in order. */
  requests: DownstreamRequest[]
  /** TCP connections accepted (a refused call must not even connect). */
  connections: number
  script: DownstreamScript | undefined
  /** Every header line and body this service received, as one string (to look for a value anywhere). */
  seen: () => string
}

/** A recording HTTP service on a free port of [::] (so every loopback name reaches it), closed on teardown. */
export async function startDownstream (t: Teardownable, script?: DownstreamScript): Promise<Downstream> {
  const server = createServer()
  const downstream: Downstream = {
    origin: '',
    port: 0,
    requests: [],
    connections: 0,
    script,
    seen: () => downstream.requests
      .map((r) => `${r.method} ${r.url}\n${Object.entries(r.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\n')}\n\n${r.body}`)
      .join('\n----\n')
  }
  server.on('connection', () => { downstream.connections++ })
  server.on('request', (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', async () => {
      const recorded: DownstreamRequest = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      const index = downstream.requests.push(recorded) - 1
      const answer = (await downstream.script?.(recorded, index)) ?? {}
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers })
      res.end(answer.body ?? JSON.stringify({ ok: true, n: index + 1 }))
    })
  })
  server.listen(0, '::')
  await once(server, 'listening')
  downstream.port = (server.address() as AddressInfo).port
  downstream.origin = `http://127.0.0.1:${downstream.port}`
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return downstream
}

/** What the app's /call route sends with request.oidc.fetch. */
export interface CallSpec {
  url: string
  method?: string
  headers?: Record<string, string>
  /** A body of this kind, made of `text` (default 'payload'). */
  body?: BodyKind
  text?: string
  /** Calls made at once with the same spec, inside one app request. Default 1. */
  parallel?: number
}

export type BodyKind = 'string' | 'urlsearchparams' | 'arraybuffer' | 'uint8array' | 'blob' | 'formdata' | 'stream'

/** What /call answers per call: the downstream's response, or the error thrown. */
export interface CallResult {
  status?: number
  location?: string | null
  body?: string
  code?: string
  statusCode?: number
}

function makeBody (kind: BodyKind, text: string): { body: RequestInit['body'], duplex?: 'half' } {
  switch (kind) {
    case 'string': return { body: text }
    case 'urlsearchparams': return { body: new URLSearchParams({ text }) }
    case 'arraybuffer': return { body: new TextEncoder().encode(text).buffer }
    case 'uint8array': return { body: new TextEncoder().encode(text) }
    case 'blob': return { body: new Blob([text], { type: 'text/plain' }) }
    case 'formdata': {
      const form = new FormData()
      form.set('text', text)
      return { body: form }
    }
    case 'stream': return {
      body: new ReadableStream({
        start (controller) {
          controller.enqueue(new TextEncoder().encode(text))
          controller.close()
        }
      }),
      duplex: 'half'
    }
  }
}

/**
 * POST /call `{ url, method?, headers?, body?, text?, parallel? }` -> request.oidc.fetch, answering
 * `[{ status, location, body } | { code, statusCode }]` (one entry per parallel call);
 * an error thrown by a lone call goes to Fastify's error handler instead.
 * POST /headers `{ url? }` -> request.oidc.forwardHeaders(url).
 */
export function forwardingRoutes (app: FastifyInstance): void {
  app.post<{ Body: CallSpec }>('/call', async (request) => {
    const { url, method, headers, body, text = 'payload', parallel = 1 } = request.body
    const once = async (): Promise<CallResult> => {
      const init: RequestInit & { duplex?: 'half' } = { method: method ?? (body === undefined ? 'GET' : 'POST') }
      if (headers !== undefined) init.headers = headers
      if (body !== undefined) Object.assign(init, makeBody(body, text))
      const res = await request.oidc.fetch(url, init)
      return { status: res.status, location: res.headers.get('location'), body: await res.text() }
    }
    if (parallel === 1) return [await once()]
    return await Promise.all(Array.from({ length: parallel }, async () => {
      try {
        return await once()
      } catch (err) {
        const { code, statusCode } = err as { code: string, statusCode: number }
        return { code, statusCode }
      }
    }))
  })
  app.post<{ Body: { url?: string } }>('/headers', async (request) => await request.oidc.forwardHeaders(request.body.url))
}

export interface ForwardingSetup extends TestApp {
  idp: TestProvider
  browser: Browser
  /** Every token response of the IdP, the login's first. */
  issued: IssuedTokens[]
  /** POST /call as the logged-in browser (plus `headers`); the parsed answer and its status. */
  call: (spec: CallSpec, headers?: Record<string, string>) => Promise<{ status: number, body: any }>
  /** POST /headers as the logged-in browser (plus `headers`). */
  forwardHeaders: (url?: string, headers?: Record<string, string>) => Promise<{ status: number, body: any }>
}

export interface ForwardingOptions {
  downstreams: string[]
  app?: Partial<BuildAppOptions>
  /** The IdP's options, or a function of the app's base URL giving them (for clients registered with its redirect URI). */
  idp?: TestProviderOptions | ((appBaseUrl: string) => TestProviderOptions)
  /** Log in the browser (default true). */
  login?: boolean
  /** Runs once the IdP is up, before the app is built: more app options (e.g. downstreams that need the issuer). */
  beforeApp?: (idp: TestProvider) => Promise<Partial<BuildAppOptions>>
}

/** The dev IdP and the app with the forwarding routes; the browser logged in as `demo`. */
export async function startForwarding (t: Teardownable, options: ForwardingOptions): Promise<ForwardingSetup> {
  const port = await freePort()
  const appBaseUrl = `http://127.0.0.1:${port}`
  const idp = await startProvider(t, { appBaseUrl, ...(typeof options.idp === 'function' ? options.idp(appBaseUrl) : options.idp) })
  const issued = recordIssuedTokens(idp)
  const app = await buildApp(t, {
    port,
    issuer: idp.issuer,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    downstreams: options.downstreams,
    routes: forwardingRoutes,
    ...options.app,
    ...await options.beforeApp?.(idp)
  })
  const browser = new Browser()
  if (options.login !== false) {
    const login = await loginAtProvider(browser, `${app.baseUrl}/auth/login?returnTo=/public`)
    if (login.status !== 200 || login.url !== `${app.baseUrl}/public`) throw new Error(`login failed: ${login.status} ${login.url}`)
  }
  const post = async (path: string, payload: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> => {
    const res = await browser.post(`${app.baseUrl}${path}`, json(payload), { accept: 'application/json', ...headers })
    return { status: res.status, body: JSON.parse(res.body) }
  }
  return {
    ...app,
    idp,
    browser,
    issued,
    call: async (spec, headers) => await post('/call', spec, headers),
    forwardHeaders: async (url, headers) => await post('/headers', url === undefined ? {} : { url }, headers)
  }
}
