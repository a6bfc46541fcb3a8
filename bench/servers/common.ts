import type { FastifyInstance } from 'fastify'
import type { Server } from 'node:http'
import type { ServerSpec, StoreWrites } from '../spec.js'

/** A server of one benchmark row, built but not yet listening. */
export interface BenchServer {
  listen: (port: number) => Promise<void>
  close: () => Promise<void>
  /** fastify-oidc rows: what the server wrote to its session store so far. */
  writes?: (() => StoreWrites) | undefined
}

export type BuildServer = (spec: ServerSpec) => Promise<BenchServer>

/** Loopback only. */
export const HOST = '127.0.0.1'

export function fastifyServer (app: FastifyInstance): BenchServer {
  return {
    listen: async (port) => { await app.listen({ port, host: HOST }) },
    close: async () => { await app.close() }
  }
}

export function nodeServer (server: Server): BenchServer {
  return {
    listen: async (port) => {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, HOST, () => {
          server.off('error', reject)
          resolve()
        })
      })
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}

/** A setting the orchestrator must give; a server without it cannot be built. */
export function required<K extends keyof ServerSpec> (spec: ServerSpec, key: K): NonNullable<ServerSpec[K]> {
  const value = spec[key]
  if (value === undefined || value === null) throw new Error(`bench server ${spec.kind}: ${key} is missing`)
  return value as NonNullable<ServerSpec[K]>
}

/** What the session rows (2 and 6) are given to hold: the token set and claims of a real login. */
export interface SessionData {
  user: { sub: string } & Record<string, unknown>
  /** Absent in row 2b (claims only). */
  tokens?: Record<string, unknown>
}

/** The route that stores the session data (rows 2 and 6 only; no auth: it is a benchmark fixture). */
export const LOGIN_ROUTE = '/bench-login'
