// A faster TypeScript loader for tap (not switched on yet): with tap config
// `"plugin": ["!@tapjs/typescript"], "node-arg": ["--import=./test/loader/register.mjs"]`,
// `node --import=./test/loader/register.mjs`
// registers hooks.mjs, which compiles each .ts file of this project with
// esbuild (types stripped, no type-check: `npm run typecheck` does that) and
// an inline source map, so stack traces and coverage point at the .ts lines.
// Measured on 3 files (login-flow, memory-store, config) on a loaded 2-core
// machine: 36 s wall / 15 s CPU against 89 s / 25 s with @tapjs/typescript.
// Before switching it on, run the full suite with coverage: esbuild maps the
// body of an untaken branch as uncovered lines where ts-node counted only the
// branch, so the 100 % lines threshold may need those branches covered first.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
