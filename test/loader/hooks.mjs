// Module hooks for .ts files outside node_modules (see register.mjs).
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

const RELATIVE = /^(\.{1,2}\/|\/|file:)/

/** `./x.js` in a TypeScript file names `./x.ts` (NodeNext style): try the .ts file when the .js one is missing. */
export async function resolve (specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (err) {
    if (RELATIVE.test(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      return await next(`${specifier.slice(0, -3)}.ts`, context)
    }
    throw err
  }
}

export async function load (url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) return await next(url, context)
  const path = fileURLToPath(url)
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: path
  })
  return { format: 'module', source: code, shortCircuit: true }
}
