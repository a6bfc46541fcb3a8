// Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core.
// Never downloads a browser: the executable must be installed (.ci/run does it).
// playwright-core gives every launch a new, empty profile.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import type { Teardownable } from './provider.js'

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

/** Launches Chromium, closed at teardown. Fails, never skips, when it is missing. */
export async function launchChromium (t: Teardownable): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium package (.ci/run does)`)
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}
