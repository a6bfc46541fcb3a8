// Start the dev OpenID Provider for one tap test, with one client for the
// app under test, and stop it when the test ends.
import { createServer } from 'node:net'
import { startDevIdp } from '../../example-app/dev-idp.js'
import type { DevIdp, DevIdpClient, DevIdpOptions } from '../../example-app/dev-idp.js'

/** What startProvider needs from a tap test (any `t`, subtests included). */
export interface Teardownable {
  teardown: (fn: () => unknown) => void
}

export interface TestProviderOptions extends Omit<DevIdpOptions, 'clients'> {
  /**
   * The app's base URL, e.g. `http://127.0.0.1:${await freePort()}`. Gives
   * the defaults redirect_uri `${appBaseUrl}/auth/callback` and
   * post_logout_redirect_uri `${appBaseUrl}/`.
   */
  appBaseUrl?: string
  /** Default 'test-app'. */
  clientId?: string
  /** Default 'test-secret'; ignored when `publicClient` is true. */
  clientSecret?: string
  /** A public client: no secret, `token_endpoint_auth_method: 'none'`. */
  publicClient?: boolean
  redirectUri?: string
  postLogoutRedirectUri?: string
  backchannelLogoutUri?: string
  /**
   * With `backchannelLogoutUri`: the IdP puts its session id (`sid`) in ID tokens and
   * logout tokens (`backchannel_logout_session_required`). Default true.
   */
  backchannelLogoutSessionRequired?: boolean
  idTokenAlg?: 'RS256' | 'ES256'
  /** More clients, registered as given. */
  extraClients?: DevIdpClient[]
}

export interface TestClient {
  clientId: string
  /** Undefined for a public client. */
  clientSecret: string | undefined
  redirectUri: string
  postLogoutRedirectUri: string
}

export interface TestProvider extends DevIdp {
  client: TestClient
}

export async function startProvider (t: Teardownable, options: TestProviderOptions = {}): Promise<TestProvider> {
  const {
    appBaseUrl,
    clientId = 'test-app',
    clientSecret = 'test-secret',
    publicClient = false,
    redirectUri,
    postLogoutRedirectUri,
    backchannelLogoutUri,
    backchannelLogoutSessionRequired = true,
    idTokenAlg,
    extraClients = [],
    ...idpOptions
  } = options
  const base = appBaseUrl?.replace(/\/+$/, '')
  const redirect = redirectUri ?? (base === undefined ? undefined : `${base}/auth/callback`)
  const postLogout = postLogoutRedirectUri ?? (base === undefined ? undefined : `${base}/`)
  if (redirect === undefined || postLogout === undefined) {
    throw new Error('startProvider needs appBaseUrl, or both redirectUri and postLogoutRedirectUri')
  }

  const client: DevIdpClient = {
    client_id: clientId,
    redirect_uris: [redirect],
    post_logout_redirect_uris: [postLogout]
  }
  if (publicClient) {
    client.token_endpoint_auth_method = 'none'
  } else {
    client.client_secret = clientSecret
    client.token_endpoint_auth_method = 'client_secret_basic'
  }
  if (backchannelLogoutUri !== undefined) {
    client.backchannel_logout_uri = backchannelLogoutUri
    client.backchannel_logout_session_required = backchannelLogoutSessionRequired
  }
  if (idTokenAlg !== undefined) client.id_token_signed_response_alg = idTokenAlg

  const idp = await startDevIdp({ ...idpOptions, clients: [client, ...extraClients] })
  t.teardown(() => idp.close())
  return {
    ...idp,
    client: {
      clientId,
      clientSecret: publicClient ? undefined : clientSecret,
      redirectUri: redirect,
      postLogoutRedirectUri: postLogout
    }
  }
}

/** Ports handed out by this process, never handed out twice. */
const handedOut = new Set<number>()

/**
 * A port free on 127.0.0.1 right now, for a server that must know its URL
 * before it listens. Picked at random below the ephemeral range (Linux
 * 32768-60999, macOS 49152-65535): a port from `listen(0)` is an ephemeral
 * one, which any outgoing connection of a parallel test may take before the
 * server binds it (EADDRINUSE); ports below that range are only ever taken by
 * another test picking the same number at the same moment.
 */
export async function freePort (): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    if (handedOut.has(port)) continue
    if (await canListen(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error('freePort: no free port found in 20000-31999 after 50 attempts')
}

async function canListen (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
