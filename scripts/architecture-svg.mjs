// Draws docs/architecture.svg: every module of lib/ in its layer (the layers of
// .dependency-cruiser.cjs, left to right from the entry points down to the core)
// and every import between them, as `depcruise` resolves them (type-only ones
// included), rendered by Graphviz compiled to WebAssembly (@viz-js/viz: no
// system `dot` needed). `--check` writes nothing and fails when the committed
// picture is not the current one.
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { instance } from '@viz-js/viz'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SVG = join(ROOT, 'docs', 'architecture.svg')
const { layers } = createRequire(import.meta.url)('../.dependency-cruiser.cjs')

const depcruise = join(ROOT, 'node_modules', '.bin', 'depcruise')
const { stdout } = await promisify(execFile)(depcruise, ['lib', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })
const modules = JSON.parse(stdout).modules.filter((m) => m.source.startsWith('lib/')).sort((a, b) => a.source.localeCompare(b.source))

const layerOf = (source) => layers.find((l) => l.paths.some((p) => new RegExp(p).test(source)))
const quote = (text) => JSON.stringify(text)
const lines = [
  'digraph lib {',
  '  rankdir=TB; newrank=true; ranksep=0.35; nodesep=0.08; fontname="Helvetica-bold"; fontsize=11',
  '  node [shape=box style="rounded,filled" fontname="Helvetica" fontsize=9 height=0.22 margin="0.08,0.02"]',
  '  edge [color="#00000026" arrowsize=0.5]'
]
// Invisible fences between the layers keep each one a band of its own, top to bottom.
lines.push(`  node [shape=point style=invis] ${layers.map((_, i) => `fence${i}`).join(' ')} fence${layers.length}`)
lines.push('  node [shape=box style="rounded,filled"]')
for (const [index, layer] of layers.entries()) {
  lines.push(`  subgraph ${quote(`cluster_${layer.name}`)} {`, `    label=${quote(`${index + 1}. ${layer.name}`)} labeljust=l style="rounded" color="#999999"`)
  for (const m of modules.filter((m) => layerOf(m.source) === layer)) {
    lines.push(`    ${quote(m.source)} [label=${quote(m.source.slice('lib/'.length))} fillcolor=${quote(layer.color)}]`)
  }
  lines.push('  }')
  for (const m of modules.filter((m) => layerOf(m.source) === layer)) {
    lines.push(`  fence${index} -> ${quote(m.source)} -> fence${index + 1} [style=invis]`)
  }
}
for (const m of modules) {
  for (const d of m.dependencies.filter((d) => d.resolved.startsWith('lib/')).sort((a, b) => a.resolved.localeCompare(b.resolved))) {
    lines.push(`  ${quote(m.source)} -> ${quote(d.resolved)}`)
  }
}
lines.push('}')
const svg = (await instance()).renderString(lines.join('\n'), { format: 'svg', engine: 'dot' })

if (process.argv.includes('--check')) {
  const committed = await readFile(SVG, 'utf8').catch(() => '')
  if (committed !== svg) {
    console.error('docs/architecture.svg is not the current picture of lib/: run npm run architecture:svg and commit it')
    process.exit(1)
  }
  console.log('docs/architecture.svg is current')
} else {
  await writeFile(SVG, svg)
  console.log(`wrote docs/architecture.svg (${Math.round(svg.length / 1024)} KB)`)
}
