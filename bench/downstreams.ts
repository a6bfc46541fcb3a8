// The local downstreams of the fetch rows (11, 11v, 11d, 12), run in the
// orchestrator beside autocannon (a fetch row's downstream is busy while its row
// is under load), each counting what it was sent:
// - `header` (rows 11, 12): a plain Node server answering `{"ok":true}` to any
//   `Authorization: Bearer …` header, 401 otherwise — it verifies nothing;
// - `verify-bearer` (row 11v): fastify-oidc's `oidcResourceServer` verifying the
//   JWT access token (RS256, keys from the dev IdP's JWKS, its default cache of
//   verified tokens), `dpop` at its default (`allowed`);
// - `verify-dpop` (row 11d): the same with `dpop: 'required'`, so each request
//   also needs a valid DPoP proof of the key the token is bound to (`cnf.jkt`),
//   never seen before (`jti`), for this method and URL.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { oidcResourceServer } from '../lib/index.js'
import type { DownstreamKind } from './spec.js'

/** The path every downstream answers. */
export const DOWNSTREAM_PATH = '/data'

/** What one downstream was sent, counted as it came. */
export interface DownstreamSeen {
  requests: number
  /** Requests by the scheme of their `Authorization` header (`none` without one), e.g. `{ DPoP: 10 }`. */
  schemes: Record<string, number>
  /** Requests carrying a `DPoP` proof header. */
  proofs: number
  /** Its answers other than 2xx (a refused token or proof). */
  refused: number
}

export interface Downstreams {
  url: (kind: DownstreamKind) => string
  seen: (kind: DownstreamKind) => DownstreamSeen
  close: () => Promise<void>
}

const KINDS: readonly DownstreamKind[] = ['header', 'verify-bearer', 'verify-dpop']

function count (seen: DownstreamSeen, headers: IncomingHttpHeaders): void {
  seen.requests++
  const scheme = headers.authorization?.split(' ', 1)[0] ?? 'none'
  seen.schemes[scheme] = (seen.schemes[scheme] ?? 0) + 1
  if (headers.dpop !== undefined) seen.proofs++
}

function headerOnly (seen: DownstreamSeen): Server {
  return createServer((req, res) => {
    count(seen, req.headers)
    const bearer = req.headers.authorization?.startsWith('Bearer ') === true
    if (!bearer) seen.refused++
    res.writeHead(bearer ? 200 : 401, { 'content-type': 'application/json' }).end(bearer ? '{"ok":true}' : '{"ok":false}')
  })
}

async function resourceServer (seen: DownstreamSeen, issuer: string, audience: string, dpop: 'allowed' | 'required'): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.addHook('onRequest', async (request) => { count(seen, request.headers) })
  app.addHook('onResponse', async (_request, reply) => { if (reply.statusCode >= 300) seen.refused++ })
  await app.register(oidcResourceServer, { issuer, audience, dpop, env: {} })
  app.get(DOWNSTREAM_PATH, { preHandler: app.requireBearer() }, async () => ({ ok: true }))
  return app
}

/** Starts the three downstreams on loopback; the verifying ones take tokens of `issuer` for `audience`. */
export async function startDownstreams (issuer: string, audience: string): Promise<Downstreams> {
  const seen = Object.fromEntries(KINDS.map((kind) => [kind, { requests: 0, schemes: {}, proofs: 0, refused: 0 }])) as Record<DownstreamKind, DownstreamSeen>
  const plain = headerOnly(seen.header)
  await new Promise<void>((resolve, reject) => {
    plain.once('error', reject)
    plain.listen(0, '127.0.0.1', () => resolve())
  })
  const apps = {
    'verify-bearer': await resourceServer(seen['verify-bearer'], issuer, audience, 'allowed'),
    'verify-dpop': await resourceServer(seen['verify-dpop'], issuer, audience, 'required')
  }
  const urls = { header: `http://127.0.0.1:${(plain.address() as AddressInfo).port}${DOWNSTREAM_PATH}` } as Record<DownstreamKind, string>
  for (const [kind, app] of Object.entries(apps)) {
    urls[kind as DownstreamKind] = `${await app.listen({ port: 0, host: '127.0.0.1' })}${DOWNSTREAM_PATH}`
  }
  return {
    url: (kind) => urls[kind],
    seen: (kind) => structuredClone(seen[kind]),
    close: async () => {
      plain.closeAllConnections()
      await new Promise<void>((resolve) => plain.close(() => resolve()))
      for (const app of Object.values(apps)) await app.close()
    }
  }
}
