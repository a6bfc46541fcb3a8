// OIDC_PRESET=google against a stand-in serving Google's discovery document
// (reached through OIDC_DISCOVERY_URL: the issuer stays https://accounts.google.com):
// access_type=offline on the login, ID tokens whose iss is either spelling Google
// uses (`https://accounts.google.com` or `accounts.google.com`), nothing else, and a
// local logout — Google has no end-session endpoint.
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { answerAuthorize, googleDocument, startStandIn } from '../helpers/stand-in.js'

t.test('Google: offline access, both iss spellings, local logout', async (t) => {
  const op = await startHostileOp(t)
  const standIn = await startStandIn(t)
  standIn.documents.set('/.well-known/openid-configuration', googleDocument(op))
  const app = await buildApp(t, { port: await freePort(), preset: 'google', discoveryUrl: standIn.origin, clientId: op.clientId, clientSecret: op.clientSecret! })

  const login = async (iss: string): Promise<{ browser: Browser, status: number, reason: string | undefined }> => {
    op.onToken = async (ctx) => ctx.error !== undefined ? undefined : { body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), iss }) } }
    const browser = new Browser()
    const start = await browser.get(`${app.baseUrl}/auth/login`)
    const location = new URL(start.headers.get('location')!)
    t.equal(`${location.origin}${location.pathname}`, 'https://accounts.google.com/o/oauth2/v2/auth')
    t.equal(location.searchParams.get('access_type'), 'offline', 'Google gives a refresh token only for offline access')
    const mark = app.events.length
    const res = await browser.get(answerAuthorize(op, location.href))
    return { browser, status: res.status, reason: app.events.slice(mark)[0]?.reason }
  }
  const first = await login('https://accounts.google.com')
  t.equal(first.status, 302)
  t.equal((await login('accounts.google.com')).status, 302, 'the spelling without scheme')
  t.same(await login('https://accounts.google.com.evil.example').then((r) => [r.status, r.reason]), [401, 'id_token_iss'])

  const logout = await first.browser.request('POST', `${app.baseUrl}/auth/logout`)
  t.equal(logout.headers.get('location'), `${app.baseUrl}/`, 'no end-session endpoint: back to the app')
  t.equal(op.requests('/revoke').length, 1, 'the refresh token is revoked at the revocation endpoint')
  const session = await first.browser.get(`${app.baseUrl}/auth/session`)
  t.equal(JSON.parse(session.body).authenticated, false)
})
