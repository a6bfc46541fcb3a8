// OIDC_PRESET=entra against a stand-in serving Entra ID's v2.0 discovery
// documents: the issuer is templated from the authority and OIDC_TENANT; a tenant
// named by its domain gets the metadata's tenant-id issuer; a multi-tenant app
// (`common`) accepts an ID token whose iss is the `{tenantid}` template filled
// with the token's own `tid` — and nothing else; roles come from `roles`.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import type { JWTPayload } from 'jose'
import fastifyOidc from '../../lib/index.js'
import { Browser } from '../helpers/browser.js'
import { buildApp, SESSION_SECRET, type TestApp } from '../helpers/build-app.js'
import { startHostileOp, type HostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'
import { answerAuthorize, entraDocument, startStandIn, type StandIn } from '../helpers/stand-in.js'

const CONTOSO = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const FABRIKAM = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'

interface Entra { op: HostileOp, standIn: StandIn, app: TestApp }

/** The stand-in authority with `tenant`'s document (issuer `issuer`), and the app with OIDC_TENANT=tenant. */
async function entra (t: Test, tenant: string, issuer: (authority: string) => string): Promise<Entra> {
  const op = await startHostileOp(t)
  const standIn = await startStandIn(t)
  standIn.documents.set(`/${tenant}/v2.0/.well-known/openid-configuration`, entraDocument(standIn.origin, tenant, issuer(standIn.origin), op))
  const app = await buildApp(t, {
    port: await freePort(),
    env: { OIDC_PRESET: 'entra', OIDC_SERVER_URL: standIn.origin, OIDC_TENANT: tenant, OIDC_CLIENT_ID: op.clientId, OIDC_CLIENT_SECRET: op.clientSecret! }
  })
  return { op, standIn, app }
}

/** A login whose ID token carries `claims`; resolves to the callback's status and the audit reason. */
async function login ({ op, app }: Entra, claims: JWTPayload, iss?: string): Promise<{ status: number, reason: string | undefined, browser: Browser }> {
  op.onToken = async (ctx) => ctx.error !== undefined ? undefined : { body: { ...await ctx.defaultBody(), id_token: await ctx.sign({ ...ctx.defaultClaims(), ...claims }) } }
  const browser = new Browser()
  const start = await browser.get(`${app.baseUrl}/auth/login`)
  const mark = app.events.length
  const res = await browser.get(answerAuthorize(op, start.headers.get('location')!, iss === undefined ? {} : { iss }))
  return { status: res.status, reason: app.events.slice(mark)[0]?.reason, browser }
}

t.test('a tenant named by its domain: the tenant-id issuer of its metadata, roles from roles', async (t) => {
  const setup = await entra(t, 'contoso.onmicrosoft.com', (authority) => `${authority}/${CONTOSO}/v2.0`)
  const { standIn, app } = setup
  const issuer = `${standIn.origin}/${CONTOSO}/v2.0`
  const start = await fetch(`${app.baseUrl}/auth/login`, { redirect: 'manual' })
  const location = new URL(start.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, `${standIn.origin}/contoso.onmicrosoft.com/oauth2/v2.0/authorize`)
  t.equal(location.searchParams.get('scope'), 'openid profile email offline_access', 'offline_access: Entra issues refresh tokens only then')

  const ok = await login(setup, { iss: issuer, tid: CONTOSO, roles: ['Orders.Read'] })
  t.equal(ok.status, 302)
  const me = await ok.browser.get(`${app.baseUrl}/private`, { accept: 'application/json' })
  t.same(JSON.parse(me.body), { sub: 'alice', roles: ['Orders.Read'] })
  const logout = await ok.browser.request('POST', `${app.baseUrl}/auth/logout`)
  t.match(logout.headers.get('location'), `${standIn.origin}/contoso.onmicrosoft.com/oauth2/v2.0/logout?`)

  t.same(await login(setup, { iss: `${standIn.origin}/${FABRIKAM}/v2.0`, tid: FABRIKAM }).then((r) => [r.status, r.reason]), [401, 'id_token_iss'], 'another tenant\'s token')
})

t.test('multi-tenant (common): iss must be the {tenantid} template filled with the token\'s tid', async (t) => {
  const setup = await entra(t, 'common', (authority) => `${authority}/{tenantid}/v2.0`)
  const tenantIssuer = (tid: string): string => `${setup.standIn.origin}/${tid}/v2.0`
  const cases: Array<[string, JWTPayload, number, string | undefined]> = [
    ['a token of its own tenant', { iss: tenantIssuer(FABRIKAM), tid: FABRIKAM }, 302, undefined],
    ['iss of another tenant than its tid', { iss: tenantIssuer(CONTOSO), tid: FABRIKAM }, 401, 'id_token_iss'],
    ['no tid', { iss: tenantIssuer(FABRIKAM) }, 401, 'id_token_iss'],
    ['the template itself', { iss: tenantIssuer('{tenantid}'), tid: '{tenantid}' }, 401, 'id_token_iss']
  ]
  for (const [name, claims, status, reason] of cases) {
    t.same(await login(setup, claims).then((r) => [r.status, r.reason]), [status, reason], name)
  }
})

t.test('multi-tenant: the RFC 9207 iss parameter must be the template filled with a tenant id', async (t) => {
  const setup = await entra(t, 'organizations', (authority) => `${authority}/{tenantid}/v2.0`)
  const claims = { iss: `${setup.standIn.origin}/${FABRIKAM}/v2.0`, tid: FABRIKAM }
  t.same(await login(setup, claims, `${setup.standIn.origin}/${FABRIKAM}/v2.0`).then((r) => [r.status, r.reason]), [302, undefined])
  for (const iss of [`${setup.standIn.origin}/evil/v2.0`, `https://login.example/${FABRIKAM}/v2.0`, `${setup.standIn.origin}/${FABRIKAM}/v1.0`]) {
    t.same(await login(setup, claims, iss).then((r) => [r.status, r.reason]), [400, 'iss_mismatch'], iss)
  }
  t.equal(setup.op.requests('/token').length, 1, 'no code exchange for a mismatched iss')
})

t.test('metadata of another tenant or authority fails register()', async (t) => {
  const op = await startHostileOp(t)
  const standIn = await startStandIn(t)
  const start = async (tenant: string, issuer: string): Promise<string | null> => {
    standIn.documents.set(`/${tenant}/v2.0/.well-known/openid-configuration`, entraDocument(standIn.origin, tenant, issuer, op))
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(fastifyOidc, {
      baseUrl: 'http://127.0.0.1:3000',
      sessionSecret: SESSION_SECRET,
      env: { OIDC_PRESET: 'entra', OIDC_SERVER_URL: standIn.origin, OIDC_TENANT: tenant, OIDC_CLIENT_ID: 'app' }
    })
    return await app.ready().then(() => null, (err: unknown) => (err as { code: string }).code)
  }
  t.equal(await start(CONTOSO, `${standIn.origin}/${FABRIKAM}/v2.0`), 'FST_OIDC_DISCOVERY_FAILED', 'a tenant given by id is pinned')
  t.equal(await start(CONTOSO, `${standIn.origin}/{tenantid}/v2.0`), 'FST_OIDC_DISCOVERY_FAILED', 'a tenant given by id is no multi-tenant app')
  t.equal(await start('contoso.example', `https://sts.windows.net/${CONTOSO}/`), 'FST_OIDC_DISCOVERY_FAILED', 'another authority (v1 issuer)')
  t.equal(await start('contoso.example', `${standIn.origin}/contoso.other/v2.0`), 'FST_OIDC_DISCOVERY_FAILED', 'not a tenant id')
  t.equal(await start('contoso.example', `${standIn.origin}/${CONTOSO}/v2.0`), null, 'the domain\'s tenant id')
})
