// Coverage counts the library only: helpers, the example app and the tests are not measured.
// Every test file, whichever folder of test/ it is in (test/session/ for lib/session/…), maps to
// the whole of lib/: most tests drive the plugin end to end through a real IdP, so a module's
// lines are covered by the tests of the layers above it as well as by its own.
import { readdirSync } from 'node:fs'

const libFiles = readdirSync(new URL('../lib/', import.meta.url), { recursive: true })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => `lib/${f}`)

export default function coverageMap () {
  return libFiles
}
