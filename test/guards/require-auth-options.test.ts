// `fastify.requireAuth({ accept })`: without the plugin's `resourceServer` option
// (or OIDC_AUDIENCE) there is no bearer verifier, and basic authentication is not
// available in this version, so a route that asks for them — or for no method at
// all — is a configuration error raised when the route is defined, never a guard
// that silently lets requests through. (Bearer with the option: require-auth-bearer.)
import t from 'tap'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

t.test('accept other than [\'session\'] throws FST_OIDC_CONFIG_INVALID at route definition', async (t) => {
  const op = await startHostileOp(t)
  const { app, baseUrl } = await buildApp(t, { port: await freePort(), issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret! })

  const refused: Array<Array<'session' | 'bearer' | 'basic'>> = [['bearer'], ['basic'], ['session', 'bearer'], []]
  for (const accept of refused) {
    t.throws(() => app.requireAuth({ accept }), { code: 'FST_OIDC_CONFIG_INVALID', message: /requireAuth accept/ }, `accept ${JSON.stringify(accept)}`)
  }
  t.throws(() => app.requireAuth({ accept: ['cookie' as 'session'] }), { code: 'FST_OIDC_CONFIG_INVALID' }, 'an unknown method')

  t.type(app.requireAuth({ accept: ['session'] }), 'function', "accept ['session'] gives a guard")
  t.type(app.requireAuth(), 'function', 'the default gives a guard')

  // The guard given by accept: ['session'] guards like the default one.
  const res = await fetch(`${baseUrl}/private`, { headers: { accept: 'application/json' } })
  t.equal(res.status, 401)
})

t.test('accept [\'bearer\'] in a route fails the app\'s start-up, not its first request', async (t) => {
  const op = await startHostileOp(t)
  const started = buildApp(t, {
    port: await freePort(),
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    routes: (app) => {
      app.get('/api', { preHandler: app.requireAuth({ accept: ['bearer'] }) }, async () => ({ ok: true }))
    }
  })
  await t.rejects(started, { code: 'FST_OIDC_CONFIG_INVALID' })
})
