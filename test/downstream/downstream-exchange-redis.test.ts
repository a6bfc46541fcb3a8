// Exchanged tokens live in the sealed session, so instances sharing a Redis store
// share them: the second instance sends the token the first exchanged, and two
// instances needing the same exchange at once make one (the exchange runs under
// the session's lock, which re-reads the session first). Nothing readable in Redis.
import t from 'tap'
import { json } from '../helpers/browser.js'
import { buildApp } from '../helpers/build-app.js'
import { forwardingRoutes } from '../helpers/downstream.js'
import { DETAILS_AUDIENCE, REVIEWS_AUDIENCE, TOKEN_EXCHANGE, startExchange } from '../helpers/exchange.js'
import { dump, redisClient, redisStore, uniquePrefix } from '../helpers/redis.js'
import { freePort } from '../helpers/provider.js'

t.test('two instances on one Redis share the exchanged tokens', async (t) => {
  const prefix = uniquePrefix()
  const sessionStore = redisStore(t, prefix)
  const a = await startExchange(t, { app: { sessionStore } })
  const b = await buildApp(t, {
    port: await freePort(),
    issuer: a.idp.issuer,
    clientId: a.idp.client.clientId,
    clientSecret: a.idp.client.clientSecret,
    sessionStore,
    downstreams: [
      { origin: a.details.url, exchange: { audience: DETAILS_AUDIENCE, scope: 'details:read' } },
      { origin: a.reviews.url, exchange: { audience: REVIEWS_AUDIENCE } }
    ],
    routes: forwardingRoutes
  })
  const callOn = async (baseUrl: string, url: string): Promise<number> => {
    const res = await a.browser.post(`${baseUrl}/call`, json({ url }), { accept: 'application/json' })
    return res.status === 200 ? JSON.parse(res.body)[0].status : res.status
  }

  t.equal(await callOn(a.baseUrl, `${a.details.url}/api`), 200, 'details through A')
  t.equal(await callOn(b.baseUrl, `${a.details.url}/api`), 200, 'details through B')
  t.equal(a.idp.countGrants(TOKEN_EXCHANGE), 1, 'B sent the token A exchanged')
  t.equal(new Set(a.details.authorizations).size, 1)

  const both = await Promise.all([callOn(a.baseUrl, `${a.reviews.url}/api`), callOn(b.baseUrl, `${a.reviews.url}/api`)])
  t.same(both, [200, 200], 'reviews through A and B at once')
  t.equal(a.idp.countGrants(TOKEN_EXCHANGE), 2, 'one exchange for reviews')
  t.equal(new Set(a.reviews.authorizations).size, 1, 'both sent the same token')

  const stored = [...(await dump(await redisClient(t), prefix)).values()].join('\n')
  const tokens = [...a.details.authorizations, ...a.reviews.authorizations].map((h) => h!.replace(/^Bearer /, ''))
  t.ok(stored.length > 0, 'the session is in Redis')
  for (const token of new Set(tokens)) t.notOk(stored.includes(token), 'no exchanged token readable in Redis')
})
