// `client.authorizeRedirect(request, reply, { extra })`: the protocol's own
// parameters (response_type, client_id, redirect_uri, state, nonce,
// code_challenge, code_challenge_method) cannot be overridden from `extra` — the
// authorization request the IdP receives carries the plugin's values, once each —
// while other parameters (prompt, login_hint) pass through and `scope` replaces
// the configured scope.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { expectLoggedIn, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'

const HOSTILE = {
  response_type: 'token',
  client_id: 'another-client',
  redirect_uri: 'https://evil.example/steal',
  state: 'attacker-chosen-state-0123456789abcdef',
  nonce: 'attacker-chosen-nonce-0123456789abcdef',
  code_challenge: 'attacker-chosen-challenge-0123456789abcdefghijk',
  code_challenge_method: 'plain'
}

function signinRoute (extra: Record<string, string>) {
  return (app: FastifyInstance): void => {
    app.get('/signin', async (request, reply) => await app.oidc.client().authorizeRedirect(request, reply, { extra }))
  }
}

/** The authorization request the browser was sent to (the first redirect of /signin). */
function authorizeParams (res: { hops: Array<{ location: string | null }> }): URLSearchParams {
  return new URL(res.hops[0]!.location!).searchParams
}

t.test('reserved parameters in extra are ignored; the IdP sees the plugin\'s values, each once', async (t) => {
  const attack = await startAttack(t, { app: { routes: signinRoute({ ...HOSTILE, prompt: 'login', login_hint: 'alice@example.com' }) } })
  const signin = await attack.browser.get(`${attack.baseUrl}/signin`)
  t.equal(signin.status, 302)
  const sent = authorizeParams(signin)
  for (const name of Object.keys(HOSTILE)) t.equal(sent.getAll(name).length, 1, `${name} appears once`)
  t.equal(sent.get('response_type'), 'code')
  t.equal(sent.get('client_id'), attack.op.clientId)
  t.equal(sent.get('redirect_uri'), `${attack.baseUrl}/auth/callback`)
  t.equal(sent.get('code_challenge_method'), 'S256')
  t.not(sent.get('state'), HOSTILE.state, 'the plugin\'s state')
  t.not(sent.get('nonce'), HOSTILE.nonce, 'the plugin\'s nonce')
  t.not(sent.get('code_challenge'), HOSTILE.code_challenge, 'the plugin\'s code challenge')
  t.ok(signin.headers.getSetCookie().some((c) => c.startsWith(`oidc.tx.${sent.get('state')}=`)), 'the transaction cookie is named after the state sent')
  t.equal(sent.get('prompt'), 'login', 'prompt passes through')
  t.equal(sent.get('login_hint'), 'alice@example.com', 'login_hint passes through')
  t.equal(sent.get('scope'), 'openid profile email', 'the configured scope')

  // The OP received exactly that request; the login completes, so its nonce (echoed
  // in the ID token) and PKCE challenge (checked at the token endpoint) were the plugin's.
  const callback = await attack.browser.continue(signin, { stopAt: (url) => url.pathname === '/auth/callback' })
  const [authorize] = attack.op.requests('/authorize')
  t.same(authorize?.query, Object.fromEntries(sent), 'the OP logged the same parameters')
  let verifier: string | null = null
  scriptToken(attack, (ctx) => {
    verifier = ctx.params.get('code_verifier')
    return undefined
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, callback.stoppedAt!))
  t.ok(verifier !== null && verifier !== '', 'a code_verifier was sent')
})

t.test('scope in extra replaces the configured scope', async (t) => {
  const attack = await startAttack(t, { app: { scope: 'openid profile email', routes: signinRoute({ scope: 'openid email' }) } })
  const callback = await reachCallback(attack, attack.browser, '/signin')
  t.equal(attack.op.requests('/authorize')[0]?.query['scope'], 'openid email')
  await expectLoggedIn(t, attack, await hitCallback(attack, callback))
})

t.test('a granted scope left out of the token response is the scope requested in extra, not the configured one', async (t) => {
  const attack = await startAttack(t, {
    app: {
      scope: 'openid profile email',
      routes: (app) => {
        signinRoute({ scope: 'openid email' })(app)
        app.get('/scopes', { preHandler: app.requireAuth() }, async (request) => ({ scopes: request.oidc.scopes }))
      }
    }
  })
  scriptToken(attack, async (ctx) => {
    const { scope: _omitted, ...body } = await ctx.defaultBody()
    return { body }
  })
  await expectLoggedIn(t, attack, await hitCallback(attack, await reachCallback(attack, attack.browser, '/signin')))
  const res = await attack.browser.get(`${attack.baseUrl}/scopes`, { accept: 'application/json' })
  t.same(JSON.parse(res.body), { scopes: ['openid', 'email'] }, 'profile was never requested, so it is not granted')
})

t.test('a scope in extra without openid gets openid added: the request stays an OpenID Connect one', async (t) => {
  const attack = await startAttack(t, { app: { routes: signinRoute({ scope: ' email  profile' }) } })
  const callback = await reachCallback(attack, attack.browser, '/signin')
  t.equal(attack.op.requests('/authorize')[0]?.query['scope'], 'openid email profile')
  await expectLoggedIn(t, attack, await hitCallback(attack, callback))
})
