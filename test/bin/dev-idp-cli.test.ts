// `npx fastify-oidc dev-idp --redirect …`: starts the example's dev IdP for your own
// app and prints the OIDC_* lines to paste; those lines log in to an app over HTTP.
// Without oidc-provider installed it says how to install it as a dev dependency.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { main, runCommand } from '../../lib/bin/fastify-oidc.js'
import { loginAtProvider, Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { freePort } from '../helpers/provider.js'

// The spawned command compiles its TypeScript on start: slow on a loaded 2-core machine.
t.setTimeout(180_000)

/** The `NAME=value` lines of the command's output. */
function settings (text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => /^OIDC_[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

t.test('the command, spawned: the printed lines log in to an app over HTTP', async (t) => {
  const port = await freePort()
  const child = spawn(process.execPath, [...process.execArgv, 'lib/bin/fastify-oidc.ts', 'dev-idp', '--redirect', `http://127.0.0.1:${port}/auth/callback`, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout.setEncoding('utf8')
  for await (const chunk of child.stdout) {
    output += chunk as string
    if (output.includes('Stop with Ctrl+C.')) break
  }
  const env = settings(output)
  t.same(Object.keys(env).sort(), ['OIDC_BASE_URL', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_ISSUER', 'OIDC_SESSION_SECRET'])
  t.equal(env['OIDC_BASE_URL'], `http://127.0.0.1:${port}`)
  t.ok(env['OIDC_SESSION_SECRET']!.length >= 32)

  const { baseUrl, events } = await buildApp(t, { port, env, sessionSecret: undefined as unknown as string })
  const final = await loginAtProvider(new Browser(), `${baseUrl}/auth/login?returnTo=/private`)
  t.equal(final.status, 200)
  t.same(JSON.parse(final.body), { sub: 'demo', roles: ['user'] })
  t.same(events.map((e) => e.type), ['login'])

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'SIGTERM stops it cleanly')
})

t.test('in process: a public client and an own redirect URI', async (t) => {
  const lines: string[] = []
  const result = await main(['dev-idp', '--redirect', 'http://localhost:3000/authorize', '--port', '0', '--public', '--client-id', 'mine'], { out: (l) => lines.push(l) })
  t.ok('idp' in result)
  if ('idp' in result) t.teardown(() => result.idp.close())
  const env = settings(lines.join('\n'))
  t.equal(env['OIDC_CLIENT_ID'], 'mine')
  t.notOk('OIDC_CLIENT_SECRET' in env, 'no secret for a public client')
  t.equal(env['OIDC_BASE_URL'], 'http://localhost:3000')
  t.equal(env['OIDC_REDIRECT_URIS'], 'http://localhost:3000/authorize')
  const metadata = await (await fetch(`${env['OIDC_ISSUER']}/.well-known/openid-configuration`)).json() as { issuer: string }
  t.equal(metadata.issuer, env['OIDC_ISSUER'], 'the IdP answers at the printed issuer')
})

t.test('without oidc-provider installed: says to install it as a dev dependency, exit code 1', async (t) => {
  const errors: string[] = []
  const missing = Object.assign(new Error("Cannot find package 'oidc-provider' imported from /app/node_modules/fastify-oidc/dist/bin/fastify-oidc.js"), { code: 'ERR_MODULE_NOT_FOUND' })
  const result = await main(['dev-idp', '--redirect', 'http://localhost:3000/auth/callback'], { importer: async () => { throw missing }, err: (l) => errors.push(l) })
  t.same(result, { exitCode: 1 })
  t.match(errors.join('\n'), 'npm install --save-dev oidc-provider')
  // Another failure (oidc-provider present but broken) is not disguised as a missing package.
  const broken = Object.assign(new Error("Cannot find package 'koa'"), { code: 'ERR_MODULE_NOT_FOUND' })
  await t.rejects(main(['dev-idp', '--redirect', 'http://localhost:3000/auth/callback'], { importer: async () => { throw broken } }), broken)
})

t.test('usage errors: exit code 2 with the usage', async (t) => {
  for (const args of [[], ['serve'], ['dev-idp'], ['dev-idp', '--redirect', 'localhost:3000/cb'], ['dev-idp', '--redirect', 'http://localhost:3000/auth/callback', '--port', 'x'], ['dev-idp', '--nope']]) {
    const errors: string[] = []
    t.same(await main(args, { err: (l) => errors.push(l) }), { exitCode: 2 }, args.join(' '))
    t.match(errors.join('\n'), 'Usage: npx fastify-oidc dev-idp --redirect', args.join(' '))
  }
  t.same(await runCommand([], { err: () => {} }), { exitCode: 2 })
  t.equal(process.exitCode, 2, 'the command exits with 2')
  process.exitCode = undefined
})
