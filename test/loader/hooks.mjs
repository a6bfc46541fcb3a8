// Module hooks for .ts files outside node_modules (see register.mjs).
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform, version } from 'esbuild'

const RELATIVE = /^(\.{1,2}\/|\/|file:)/

/** The project's own TypeScript and plain-ESM files (bench/servers/secure-session.mjs imports `../spec.js`). */
const OWN_SOURCE = /^file:(?!.*\/node_modules\/).*\.(ts|mjs)$/

/** `./x.js` in a TypeScript (or the project's .mjs) file names `./x.ts` (NodeNext style): try the .ts file when the .js one is missing. */
export async function resolve (specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (err) {
    if (RELATIVE.test(specifier) && specifier.endsWith('.js') && OWN_SOURCE.test(context.parentURL ?? '')) {
      return await next(`${specifier.slice(0, -3)}.ts`, context)
    }
    throw err
  }
}

const OPTIONS = { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline' }

// Compiled files, shared by the test processes of a run and by later runs: each of the ~176 test
// processes loads most of lib/ and test/helpers/, and only the first one compiles a given file.
// Keyed by the file's path and content and esbuild's version and options, so an edited file (or
// another esbuild) is compiled again; node_modules/.cache is where build caches go (npm ci empties it).
const CACHE = new URL('../../node_modules/.cache/fastify-oidc-test-ts/', import.meta.url)
const KEY_SALT = JSON.stringify({ version, OPTIONS })

export async function load (url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) return await next(url, context)
  const path = fileURLToPath(url)
  const source = await readFile(path, 'utf8')
  const cached = new URL(`${createHash('sha256').update(`${KEY_SALT}\0${path}\0${source}`).digest('hex')}.mjs`, CACHE)
  try {
    return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true }
  } catch {
    // Not compiled yet.
  }
  // esbuild starts its service process on the first transform only: a process that finds every file cached starts none.
  const { code } = await transform(source, { ...OPTIONS, sourcefile: path })
  // Written under a name of its own, then renamed: a process running in parallel never reads half a file.
  await mkdir(CACHE, { recursive: true })
  const temporary = new URL(`${cached.href}.${process.pid}.${Math.random().toString(36).slice(2)}`)
  await writeFile(temporary, code)
  await rename(temporary, cached)
  return { format: 'module', source: code, shortCircuit: true }
}
