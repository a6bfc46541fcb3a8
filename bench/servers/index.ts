// Where the server of each kind is: loaded by path, so that a process loads
// only its own server's packages (a child of the benchmark runs one server).
import type { ServerKind } from '../spec.js'
import type { BuildServer } from './common.js'

// `.ts` through tsx or tap, `.js` once compiled by bench/tsconfig.json.
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const MODULES: Record<ServerKind, string> = {
  bare: `./bare${ext}`,
  'fastify-session': `./fastify-session${ext}`,
  oidc: `./oidc${ext}`,
  'express-oidc': `./express-oidc${ext}`,
  // Plain JS: @fastify/secure-session and @fastify/session declare `request.session` with different types.
  'secure-session': './secure-session.mjs',
  bearer: `./bearer${ext}`,
  'jwt-jwks': `./jwt-jwks${ext}`,
  'jose-local': `./jose-local${ext}`
}

export async function loadServer (kind: ServerKind): Promise<BuildServer> {
  const { build } = await import(new URL(MODULES[kind], import.meta.url).href) as { build: BuildServer }
  return build
}
