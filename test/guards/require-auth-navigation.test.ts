// What requireAuth treats as a browser navigation (redirect to login) and what as
// an API call (401): GET or HEAD accepting text/html navigate; any other method,
// or a request with no Accept header at all, gets 401 JSON.
import { request as httpRequest } from 'node:http'
import t from 'tap'
import { buildApp } from '../helpers/build-app.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { freePort } from '../helpers/provider.js'

/** A GET with no Accept header at all (fetch always adds one). */
async function getWithoutAccept (url: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers: {} }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('navigation or API call', async (t) => {
  const op = await startHostileOp(t)
  const { baseUrl } = await buildApp(t, {
    port: await freePort(),
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret!,
    routes: (app) => { app.post('/private', { preHandler: app.requireAuth() }, async () => ({ ok: true })) }
  })

  const head = await fetch(`${baseUrl}/private?x=1`, { method: 'HEAD', headers: { accept: 'text/html' }, redirect: 'manual' })
  t.equal(head.status, 302, 'HEAD accepting text/html: redirect')
  t.equal(head.headers.get('location'), '/auth/login?returnTo=%2Fprivate%3Fx%3D1')

  const post = await fetch(`${baseUrl}/private`, { method: 'POST', headers: { accept: 'text/html' }, redirect: 'manual' })
  t.equal(post.status, 401, 'POST accepting text/html: 401, not a redirect')

  const bare = await getWithoutAccept(`${baseUrl}/private`)
  t.equal(bare.status, 401, 'GET without Accept: 401')
  t.equal(JSON.parse(bare.body).code, 'FST_OIDC_UNAUTHENTICATED')

  const anything = await fetch(`${baseUrl}/private`, { headers: { accept: '*/*' }, redirect: 'manual' })
  t.equal(anything.status, 401, 'GET accepting */*: 401 (only an explicit text/html navigates)')
})
