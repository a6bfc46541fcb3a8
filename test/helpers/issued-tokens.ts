// What the dev IdP really issued, read from oidc-provider's own
// `grant.success` event (the token endpoint's response body), so a test can
// look for these values in what the app sends to the browser, and use a
// refresh token at the IdP's endpoints directly.
import type { TestProvider } from './provider.js'

export interface IssuedTokens {
  grantType: string
  accessToken: string
  refreshToken?: string
  idToken?: string
}

interface GrantContext {
  oidc?: { params?: { grant_type?: unknown } }
  body?: unknown
}

/** Records every successful token response of `idp` from now on. */
export function recordIssuedTokens (idp: TestProvider): IssuedTokens[] {
  const issued: IssuedTokens[] = []
  idp.provider.on('grant.success', (ctx: GrantContext) => {
    const body = ctx.body as Record<string, unknown> | undefined
    if (body === undefined || typeof body['access_token'] !== 'string') return
    const entry: IssuedTokens = { grantType: String(ctx.oidc?.params?.grant_type), accessToken: body['access_token'] }
    if (typeof body['refresh_token'] === 'string') entry.refreshToken = body['refresh_token']
    if (typeof body['id_token'] === 'string') entry.idToken = body['id_token']
    issued.push(entry)
  })
  return issued
}

/** Calls the IdP's token endpoint with a refresh token as the test client; answers the status and OAuth `error`. */
export async function useRefreshToken (idp: TestProvider, refreshToken: string): Promise<{ status: number, error?: string }> {
  const { clientId, clientSecret = '' } = idp.client
  const res = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded'
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString()
  })
  const body = await res.json() as { error?: string }
  return body.error === undefined ? { status: res.status } : { status: res.status, error: body.error }
}
