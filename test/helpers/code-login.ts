// Logs `demo` in at the dev IdP in a cookie-jar browser and redeems the code by
// hand as the test client (client_secret_basic, PKCE S256): the token answer a
// real client gets, for tests of what consumes tokens (resource servers).
import { createHash, randomBytes } from 'node:crypto'
import { Browser, loginAtProvider } from './browser.js'
import type { TestProvider } from './provider.js'

export interface CodeLoginOptions {
  /** Default 'openid api:read'. */
  scope?: string
  /** More authorization request parameters (`nonce`, `acr_values`…). */
  params?: Record<string, string>
  /** Default a new one. */
  browser?: Browser
  /** Headers of the token request besides the client's authentication (e.g. a `dpop` proof). */
  tokenHeaders?: (tokenEndpoint: string) => Promise<Record<string, string>>
}

/** The token endpoint's answer to the login's code; anything but 200 throws with the answer. */
export async function codeLogin<T> (idp: TestProvider, appBaseUrl: string, options: CodeLoginOptions = {}): Promise<T> {
  const verifier = randomBytes(32).toString('base64url')
  const authorize = new URL(`${idp.issuer}/auth`)
  authorize.search = new URLSearchParams({
    client_id: idp.client.clientId,
    response_type: 'code',
    scope: options.scope ?? 'openid api:read',
    redirect_uri: idp.client.redirectUri,
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...options.params
  }).toString()
  const done = await loginAtProvider(options.browser ?? new Browser(), authorize, { stopAt: (url) => url.origin === appBaseUrl })
  const code = new URL(done.stoppedAt!).searchParams.get('code')!
  const tokenEndpoint = `${idp.issuer}/token`
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${idp.client.clientId}:${idp.client.clientSecret!}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      ...await options.tokenHeaders?.(tokenEndpoint)
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: idp.client.redirectUri, code_verifier: verifier })
  })
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${await res.text()}`)
  return await res.json() as T
}
