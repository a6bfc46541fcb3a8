// Coverage counts the library only: helpers, the example app and the tests are not measured.
import { readdirSync } from 'node:fs'

const libFiles = readdirSync(new URL('../lib/', import.meta.url), { recursive: true })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => `lib/${f}`)

export default function coverageMap () {
  return libFiles
}
