// The packed package, as its consumers get it: `npm pack` (which builds dist/
// through `prepare`), the tarball installed into a temporary project with
// `npm ci --offline` (its dependencies come from the npm cache that this
// project's own install filled: no network), then an ES module import, a
// CommonJS require(), and TypeScript type-checks with skipLibCheck false under
// moduleResolution NodeNext, Bundler and Node10, and with
// exactOptionalPropertyTypes, of the README's first example, of the error
// classes' types (which must not be `any`) and of a resource server written
// against the second entry point, `fastify-oidc/resource-server`.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
// Child processes of this test: no coverage collection, no npm settings of an outer `npm test`.
const ENV = Object.fromEntries(Object.entries({ ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' })
  .filter(([name]) => !/^npm_(config|package|lifecycle)_/i.test(name)))

// Packing builds dist/ and each type-check reads Fastify's typings whole: minutes on a busy 2-core machine.
t.setTimeout(600_000)

/** The first TypeScript example of the README (the "Use" section), with the two names it leaves to the reader declared. */
async function readmeSnippet (): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const use = readme.slice(readme.indexOf('\n## Use'))
  const snippet = /```ts\n([\s\S]*?)```/.exec(use)?.[1]
  if (snippet === undefined) throw new Error('no ```ts block in the README\'s Use section')
  return `${snippet}
declare const auditLog: { write: (event: unknown) => void }
declare function fetchOrders (token: string | undefined): Promise<unknown>
export {}
`
}

/** Fails to compile when the error classes are `any` (the @ts-expect-error lines then expect nothing). */
const ERROR_TYPES = `import { OidcConfigError, OidcStateMismatchError } from 'fastify-oidc'
const error = new OidcStateMismatchError()
const code: 'FST_OIDC_STATE_MISMATCH' = error.code
const status: 400 = error.statusCode
// @ts-expect-error the code is a string literal type, not any
const wrong: number = error.code
// @ts-expect-error another error class has another code
const other: 'FST_OIDC_STATE_MISMATCH' = new OidcConfigError('x').code
export { code, status, wrong, other }
`

/** A service that only verifies bearer tokens, on the subpath export: its decorators and `request.oidc` are typed. */
const RESOURCE_SERVER = `import Fastify from 'fastify'
import oidcResourceServer, { OidcTokenInvalidError, type OidcResourceServerOptions, type VerifiedBearer } from 'fastify-oidc/resource-server'
const options: OidcResourceServerOptions = { issuer: 'https://idp.example.com', audience: 'reviews' }
const app = Fastify()
await app.register(oidcResourceServer, options)
app.get('/reviews', { preHandler: app.requireBearer({ scopes: ['reviews:read'] }) }, async (request) => {
  const sub: string | undefined = request.oidc.user?.sub
  const via: 'session' | 'bearer' | 'basic' | null = request.oidc.via
  return { sub, via, code: new OidcTokenInvalidError('x').code }
})
// @ts-expect-error requireBearer takes scopes, not roles
app.requireBearer({ roles: ['admin'] })
export type Verified = VerifiedBearer['method']
`

// exactOptionalPropertyTypes only adds errors, so NodeNext is checked with it on (one tsc run fewer).
// Node10 consumers need esModuleInterop for Fastify's own typings (pino's default import of thread-stream).
const TSCONFIGS: Record<string, Record<string, unknown>> = {
  'NodeNext, exactOptionalPropertyTypes': { module: 'NodeNext', moduleResolution: 'NodeNext', exactOptionalPropertyTypes: true },
  Bundler: { module: 'ESNext', moduleResolution: 'Bundler' },
  Node10: { module: 'ES2022', moduleResolution: 'Node10', esModuleInterop: true }
}

interface LockEntry { dev?: boolean, [field: string]: unknown }

/**
 * A consumer project depending on the tarball, with a lockfile: the tarball's
 * entry plus this project's own entries of the runtime dependency tree (those
 * not marked dev), so `npm ci --offline` takes every package from the npm
 * cache by integrity. (`npm install --offline` would need the registry's
 * package documents to resolve version ranges, and `npm ci` never caches those.)
 */
async function writeConsumer (project: string, tarball: string): Promise<void> {
  const own = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string, dependencies: Record<string, string>, engines: Record<string, string> }
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  const dependencies = { 'fastify-oidc': `file:${tarball}` }
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', version: '1.0.0', dependencies },
    'node_modules/fastify-oidc': { version: own.version, resolved: `file:${tarball}`, dependencies: own.dependencies, engines: own.engines }
  }
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith('node_modules/') && entry.dev !== true) packages[path] = entry
  }
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies }))
  await writeFile(join(project, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }))
}

t.test('the packed tarball works for ESM, CommonJS and TypeScript consumers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fastify-oidc-pack-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, env: ENV, maxBuffer: 16 * 1024 * 1024 })
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  const paths = info!.files.map((f) => f.path)
  t.ok(paths.includes('dist/index.js') && paths.includes('dist/index.d.ts'), 'the build is in the tarball')
  t.ok(paths.includes('dist/resource-server/index.js') && paths.includes('dist/resource-server/index.d.ts'), 'and the resource server\'s entry point')
  t.same(paths.filter((p) => p.endsWith('.map')), [], 'no source maps (their sources are not shipped)')
  t.same(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')), [], 'no TypeScript sources')

  const project = join(dir, 'consumer')
  await run('mkdir', [project])
  await writeConsumer(project, `../${info!.filename}`)
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project, env: ENV })

  await t.test('ES module import', async (t) => {
    await writeFile(join(project, 'esm.mjs'), `import fastifyOidc, { OidcConfigError, RedisStore } from 'fastify-oidc'
console.log(JSON.stringify([typeof fastifyOidc, new OidcConfigError('x').code, typeof RedisStore]))`)
    const { stdout } = await run(process.execPath, ['esm.mjs'], { cwd: project, env: ENV })
    t.same(JSON.parse(stdout), ['function', 'FST_OIDC_CONFIG_INVALID', 'function'])
  })

  await t.test('ES module import of fastify-oidc/resource-server', async (t) => {
    await writeFile(join(project, 'esm-rs.mjs'), `import oidcResourceServer, { oidcResourceServer as named, OidcTokenInvalidError } from 'fastify-oidc/resource-server'
import { oidcResourceServer as fromMain } from 'fastify-oidc'
console.log(JSON.stringify([typeof oidcResourceServer, oidcResourceServer === named, oidcResourceServer === fromMain, new OidcTokenInvalidError('x').code]))`)
    const { stdout } = await run(process.execPath, ['esm-rs.mjs'], { cwd: project, env: ENV })
    t.same(JSON.parse(stdout), ['function', true, true, 'FST_OIDC_TOKEN_INVALID'])
  })

  await t.test('CommonJS require() (Node >= 20.19)', async (t) => {
    await writeFile(join(project, 'cjs.cjs'), `const oidc = require('fastify-oidc')
console.log(JSON.stringify([typeof oidc.default, new oidc.OidcConfigError('x').code, typeof oidc.RedisStore]))`)
    const { stdout } = await run(process.execPath, ['cjs.cjs'], { cwd: project, env: ENV })
    t.same(JSON.parse(stdout), ['function', 'FST_OIDC_CONFIG_INVALID', 'function'])
  })

  await t.test('CommonJS require() of fastify-oidc/resource-server', async (t) => {
    await writeFile(join(project, 'cjs-rs.cjs'), `const rs = require('fastify-oidc/resource-server')
console.log(JSON.stringify([typeof rs.default, rs.default === rs.oidcResourceServer, typeof rs.resolveResourceServerConfig, new rs.OidcTokenInvalidError('x').code]))`)
    const { stdout } = await run(process.execPath, ['cjs-rs.cjs'], { cwd: project, env: ENV })
    t.same(JSON.parse(stdout), ['function', true, 'function', 'FST_OIDC_TOKEN_INVALID'])
  })

  await writeFile(join(project, 'readme.ts'), await readmeSnippet())
  await writeFile(join(project, 'errors.ts'), ERROR_TYPES)
  await writeFile(join(project, 'resource-server.ts'), RESOURCE_SERVER)
  // The three type-checks run side by side (each is one single-threaded tsc).
  const checks = await Promise.all(Object.entries(TSCONFIGS).map(async ([name, options]) => {
    const tsconfig = join(project, `tsconfig.${name.split(',')[0]!.toLowerCase()}.json`)
    await writeFile(tsconfig, JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        ...options
      },
      files: ['readme.ts', 'errors.ts', 'resource-server.ts']
    }))
    return await run(process.execPath, [TSC, '-p', tsconfig], { cwd: project, env: ENV }).then(
      () => ({ name, code: 0, out: '' }),
      (err: { code: number, stdout: string }) => ({ name, code: err.code, out: err.stdout }))
  }))
  for (const { name, code, out } of checks) t.equal(code, 0, `TypeScript, skipLibCheck false: ${name}${out === '' ? '' : `\n${out}`}`)
})
