// The resource server's keys during a JWKS outage (issue 11, point 9): the key
// set is refetched when it is older than its cache age, at most once per
// cool-down whatever the number of tokens, and while refetches fail the last
// good set keeps verifying tokens (stale-if-error) until it is older than
// jwksMaxStale (OIDC_JWKS_MAX_STALE, default 24 h): only then 503. The real
// durations (10 min, 30 s, 24 h) are shortened through the verifier's settings.
import t from 'tap'
import { createBearerVerifier } from '../../lib/tokens/bearer-verifier.js'
import { resolveResourceServerConfig } from '../../lib/index.js'
import { startHostileOp } from '../helpers/hostile-op.js'
import { API_AUDIENCE, signAccessToken } from '../helpers/resource-server.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('stale-if-error: the last good JWKS serves while refetches fail, one refetch per cool-down, 503 past the maximum age', async (t) => {
  const op = await startHostileOp(t)
  const verifier = createBearerVerifier({
    issuer: op.issuer,
    audiences: [API_AUDIENCE],
    algorithms: ['RS256'],
    accessTokenTypes: ['at+jwt'],
    clockTolerance: 0,
    httpTimeout: 1000,
    jwksUri: op.url('/jwks'),
    verifiedTokenCacheTtl: 0,
    jwksCacheMaxAge: 200,
    jwksCooldown: 2500,
    jwksMaxStale: 4
  })
  const jwksCalls = (): number => op.requests('/jwks').length
  t.match(await verifier.verify(await signAccessToken(op)), { claims: { sub: 'alice' } })
  t.equal(jwksCalls(), 1)

  op.onJwks = () => ({ status: 503, body: 'down' })
  await sleep(250)
  for (let i = 0; i < 30; i++) t.match(await verifier.verify(await signAccessToken(op)), { claims: { sub: 'alice' } })
  t.equal(jwksCalls(), 2, 'one refetch attempt for 30 tokens, each verified with the last good keys')

  await sleep(2600)
  t.match(await verifier.verify(await signAccessToken(op)), { claims: { sub: 'alice' } }, 'still the last good keys')
  t.equal(jwksCalls(), 3, 'the next attempt after the cool-down')

  await sleep(1300)
  const err = await verifier.verify(await signAccessToken(op)).then(() => undefined, (e: unknown) => e as { code?: string })
  t.equal(err?.code, 'FST_OIDC_VERIFIER_UNAVAILABLE', 'past jwksMaxStale: the keys are too old to be trusted')

  t.equal(jwksCalls(), 3, 'no attempt within the cool-down')

  op.onJwks = undefined
  await sleep(2600)
  t.match(await verifier.verify(await signAccessToken(op)), { claims: { sub: 'alice' } }, 'fresh keys again once the JWKS answers')
})

t.test('OIDC_JWKS_MAX_STALE: 24 h by default, seconds, 0 to 604800', async (t) => {
  const base = { issuer: 'https://idp.example.com', audience: API_AUDIENCE }
  t.equal(resolveResourceServerConfig({ ...base, env: {} }).jwksMaxStale, 86_400)
  t.equal(resolveResourceServerConfig({ ...base, env: { OIDC_JWKS_MAX_STALE: '3600' } }).jwksMaxStale, 3600)
  t.equal(resolveResourceServerConfig({ ...base, env: { OIDC_JWKS_MAX_STALE: '3600' }, jwksMaxStale: 0 }).jwksMaxStale, 0, 'the option wins')
  t.throws(() => resolveResourceServerConfig({ ...base, env: { OIDC_JWKS_MAX_STALE: '-1' } }), { code: 'FST_OIDC_CONFIG_INVALID', message: /OIDC_JWKS_MAX_STALE/ })
})
