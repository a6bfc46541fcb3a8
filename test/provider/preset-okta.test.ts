// OIDC_PRESET=okta against a stand-in serving an Okta org's "default" custom
// authorization server discovery document: the issuer <org>/oauth2/default from
// OIDC_SERVER_URL, its /v1 endpoints, offline_access requested, and roles read
// from the `groups` claim.
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { answerAuthorize, oktaDocument, startStandIn } from '../helpers/stand-in.js'

t.test('the default authorization server of an Okta org: endpoints, scope, groups as roles, logout', async (t) => {
  const op = await startHostileOp(t)
  const standIn = await startStandIn(t)
  const issuer = `${standIn.origin}/oauth2/default`
  standIn.documents.set('/oauth2/default/.well-known/openid-configuration', oktaDocument(standIn.origin, op))
  op.onToken = async (ctx) => ctx.error !== undefined
    ? undefined
    : { body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), iss: issuer, roles: undefined, groups: ['Everyone', 'Shop Admins'] }) } }
  const app = await buildApp(t, {
    port: await freePort(),
    env: { OIDC_PRESET: 'okta', OIDC_SERVER_URL: standIn.origin, OIDC_CLIENT_ID: op.clientId, OIDC_CLIENT_SECRET: op.clientSecret! }
  })

  const browser = new Browser()
  const start = await browser.get(`${app.baseUrl}/auth/login`)
  const location = new URL(start.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, `${issuer}/v1/authorize`)
  t.equal(location.searchParams.get('scope'), 'openid profile email offline_access')
  t.equal((await browser.get(answerAuthorize(op, location.href))).status, 302)
  const me = await browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })
  t.same(JSON.parse(me.body), { sub: 'alice', roles: ['Everyone', 'Shop Admins'] }, 'groups are the roles')
  const logout = await browser.request('POST', `${app.baseUrl}/auth/logout`)
  t.match(logout.headers.get('location'), `${issuer}/v1/logout?`)
})
