// Pieces of the development IdP (lib/dev-idp.ts): default accounts, quiet start-up,
// its HTML pages and its signing keys.
import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'oidc-provider'
import { escapeHtml } from './escape.js'

/** The claim (and scope) holding an account's roles. */
export const ROLES_CLAIM = 'roles'

/** An account's claims when the options give none: every login name is accepted. */
export function defaultClaims (login: string): Record<string, unknown> {
  return {
    name: login.charAt(0).toUpperCase() + login.slice(1),
    email: `${login}@example.com`,
    email_verified: true,
    [ROLES_CLAIM]: ['user']
  }
}

/** Runs fn with console.warn/info lines from oidc-provider dropped (anyone else's pass). */
export async function quietly<T> (enabled: boolean, fn: () => T | Promise<T>): Promise<T> {
  if (!enabled) return await fn()
  const { warn, info } = console
  const filter = (original: (...args: unknown[]) => void) => (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return
    original.apply(console, args)
  }
  console.warn = filter(warn)
  console.info = filter(info)
  try {
    return await fn()
  } finally {
    console.warn = warn
    console.info = info
  }
}

/** A minimal HTML page (title and body; the title is escaped). */
export function page (title: string, body: string): string {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`
}

/** A fresh RS256 and ES256 signing key (private JWKs with kid, alg, use). */
export async function signingKeys (): Promise<JWK[]> {
  const keys: JWK[] = []
  for (const alg of ['RS256', 'ES256'] as const) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true })
    const jwk = await exportJWK(privateKey)
    keys.push({ ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` } as JWK)
  }
  return keys
}
