#!/usr/bin/env node
// `npx fastify-oidc dev-idp --redirect http://localhost:3000/auth/callback`: the
// example's embedded development IdP for your own app, with the OIDC_* lines to paste.
import { randomBytes } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { DevIdp } from '../dev-idp.js'

const USAGE = `Usage: npx fastify-oidc dev-idp --redirect <url> [--redirect <url>...] [--port 4400] [--client-id dev-app] [--public]

Starts a development OpenID Provider on 127.0.0.1 (any login name works, the password
is ignored) with one client for your app, and prints the OIDC_* settings to paste.
  --redirect   your app's redirect URI, e.g. http://localhost:3000/auth/callback (repeatable)
  --port       the IdP's port (default 4400; 0 picks a free one)
  --client-id  the client id (default dev-app)
  --public     a public client (no secret, PKCE only) instead of a confidential one
`

/** What the command needs from outside: replaced in tests. */
export interface CliIo {
  /** Imports a package (default: `import()`), to find out whether `oidc-provider` is installed. */
  importer?: ((name: string) => Promise<unknown>) | undefined
  out?: ((line: string) => void) | undefined
  err?: ((line: string) => void) | undefined
}

/** The running IdP, or the exit code when the command did not start one. */
export type CliResult = { idp: DevIdp } | { exitCode: number }

/** True when `err` says the package itself cannot be found (not one of its own imports failing); `import()` says ERR_MODULE_NOT_FOUND. */
function isMissingPackage (err: unknown, name: string): boolean {
  const { code, message } = err as { code?: unknown, message?: unknown }
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${name}'`)
}

/** Runs `fastify-oidc <args>`; `dev-idp` resolves once the IdP listens. */
export async function main (args: string[], io: CliIo = {}): Promise<CliResult> {
  const { importer = async (name: string) => await import(name), out = console.log, err = console.error } = io
  let values: { redirect?: string[] | undefined, port?: string | undefined, 'client-id'?: string | undefined, public?: boolean | undefined }
  let command: string | undefined
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { redirect: { type: 'string', multiple: true }, port: { type: 'string' }, 'client-id': { type: 'string' }, public: { type: 'boolean' } }
    })
    values = parsed.values
    command = parsed.positionals[0]
  } catch (error) {
    err(`${(error as Error).message}\n\n${USAGE}`)
    return { exitCode: 2 }
  }
  const redirects = values.redirect ?? []
  const port = Number(values.port ?? 4400)
  const problems = [
    ...command === 'dev-idp' ? [] : [command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`],
    ...redirects.length === 0 ? ['--redirect is required'] : [],
    ...redirects.filter((r) => !URL.canParse(r) || !/^https?:$/.test(new URL(r).protocol)).map((r) => `--redirect: expected an absolute http(s) URL, got ${JSON.stringify(r)}`),
    ...Number.isInteger(port) && port >= 0 && port < 65536 ? [] : [`--port: expected a port number, got ${JSON.stringify(values.port)}`]
  ]
  if (problems.length > 0) {
    err(`${problems.join('\n')}\n\n${USAGE}`)
    return { exitCode: 2 }
  }

  try {
    await importer('oidc-provider')
  } catch (error) {
    if (!isMissingPackage(error, 'oidc-provider')) throw error
    err('The dev IdP needs the oidc-provider package, which fastify-oidc does not install (it is for development only).\n' +
      'Install it as a dev dependency of your app:\n\n  npm install --save-dev oidc-provider\n\nthen run this command again.')
    return { exitCode: 1 }
  }

  const { startDevIdp } = await import('../dev-idp.js')
  const uris = redirects.map((r) => new URL(r))
  const origins = [...new Set(uris.map((u) => u.origin))]
  const clientId = values['client-id'] ?? 'dev-app'
  const secret = values.public === true ? undefined : randomBytes(24).toString('base64url')
  const idp = await startDevIdp({
    port,
    clients: [{
      client_id: clientId,
      ...(secret === undefined ? {} : { client_secret: secret }),
      redirect_uris: uris.map((u) => u.href),
      post_logout_redirect_uris: origins.map((o) => `${o}/`)
    }]
  })
  const base = origins[0]!
  const own = uris.filter((u) => u.origin !== base || u.pathname !== '/auth/callback')
  out([
    `fastify-oidc dev IdP: ${idp.issuer} (any login name works; the password is ignored)`,
    'Paste into your app\'s environment (.env):',
    '',
    `OIDC_ISSUER=${idp.issuer}`,
    `OIDC_CLIENT_ID=${clientId}`,
    ...secret === undefined ? [] : [`OIDC_CLIENT_SECRET=${secret}`],
    `OIDC_BASE_URL=${base}`,
    `OIDC_SESSION_SECRET=${randomBytes(32).toString('base64url')}`,
    ...own.length === 0 ? [] : [`OIDC_REDIRECT_URIS=${own.map((u) => u.href).join(',')}`],
    '',
    'Everything is kept in memory: a restart forgets logins and issues a new client secret. Stop with Ctrl+C.'
  ].join('\n'))
  return { idp }
}

/** Runs as the `fastify-oidc` command: the exit code, or the IdP until SIGINT / SIGTERM. */
export async function runCommand (args: string[], io: CliIo = {}): Promise<CliResult> {
  const result = await main(args, io)
  if ('exitCode' in result) {
    process.exitCode = result.exitCode
  } else {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { result.idp.close().catch(() => { process.exitCode = 1 }) })
  }
  return result
}

// Run when executed (`npx fastify-oidc`, through npm's symlink), not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await runCommand(process.argv.slice(2))
