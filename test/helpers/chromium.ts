// Real headless Chromium driven by playwright-core. Never downloads a browser:
// CHROMIUM_PATH when set, else a system Chromium (Debian's /usr/bin/chromium,
// ...), else the one inside the @sparticuz/chromium npm package (a dev
// dependency: unpacked into the temporary folder on first use, with its own
// NSS libraries and fonts for machines that lack them).
// playwright-core gives every launch a new, empty profile.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import type { Teardownable } from './provider.js'

const SYSTEM_CHROMIUMS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium'
]

export const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface ChromiumExecutable {
  path: string
  /** Where it came from: CHROMIUM_PATH, the system, or the npm package. */
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium'
  /** Environment for the browser process (the packaged build's libraries and fonts when the system lacks them). */
  env: Record<string, string>
}

/** True when the dynamic loader finds every library `executable` needs. */
function systemLibrariesSuffice (executable: string): boolean {
  const ldd = spawnSync('ldd', [executable], { encoding: 'utf8' })
  return ldd.status === 0 && !ldd.stdout.includes('not found')
}

async function packagedChromium (): Promise<ChromiumExecutable> {
  if (process.platform !== 'linux') {
    throw new Error(`No Chromium found (looked at ${SYSTEM_CHROMIUMS.join(', ')}): set CHROMIUM_PATH to a Chromium or Chrome executable (the npm build is for Linux only)`)
  }
  const { default: packaged, inflate } = await import('@sparticuz/chromium')
  const path = await packaged.executablePath()
  const env: Record<string, string> = {}
  if (!systemLibrariesSuffice(path)) {
    // Amazon Linux's NSS libraries, shipped in the package for hosts without them.
    const bin = fileURLToPath(new URL('../bin/', import.meta.resolve('@sparticuz/chromium')))
    const lib = join(await inflate(join(bin, 'al2023.tar.br')), 'lib')
    env['LD_LIBRARY_PATH'] = [lib, process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':')
  }
  // The package's fonts (unpacked beside the executable) when the system has no fontconfig set-up.
  if (!existsSync('/etc/fonts/fonts.conf')) env['FONTCONFIG_PATH'] = join(tmpdir(), 'fonts')
  return { path, source: '@sparticuz/chromium', env }
}

/** The Chromium the tests use. Throws, with what to do, when there is none. */
export async function findChromium (): Promise<ChromiumExecutable> {
  const fromEnv = process.env['CHROMIUM_PATH']
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist: point it at a Chromium executable, or unset it to use the system's or the npm one`)
    return { path: fromEnv, source: 'CHROMIUM_PATH', env: {} }
  }
  const system = SYSTEM_CHROMIUMS.find((path) => existsSync(path))
  if (system !== undefined) return { path: system, source: 'system', env: {} }
  return await packagedChromium()
}

/** Launches Chromium, closed at teardown. Fails, never skips, when there is none. */
export async function launchChromium (t: Teardownable): Promise<Browser> {
  const executable = await findChromium()
  const browser = await chromium.launch({
    executablePath: executable.path,
    headless: true,
    args: ARGS,
    env: { ...process.env, ...executable.env }
  })
  t.teardown(() => browser.close())
  return browser
}
