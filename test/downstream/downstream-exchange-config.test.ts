// OIDC_DOWNSTREAM_EXCHANGE / `downstreams: [{ origin, exchange }]`: each entry
// allow-lists its origin for exchanged tokens only (never the user's own, even
// when the origin is also in OIDC_DOWNSTREAMS); a malformed entry is one clear
// line naming the variable at register().
import t from 'tap'
import { problems, resolve } from '../helpers/downstream-config.js'

t.test('OIDC_DOWNSTREAM_EXCHANGE allow-lists its origins for exchanged tokens only', async (t) => {
  const config = resolve({
    OIDC_DOWNSTREAMS: 'https://catalog.example.com, https://details.example.com',
    OIDC_DOWNSTREAM_EXCHANGE: 'https://Details.example.com:443=details , https://reviews.example.com/=https://reviews.example.com/api'
  })
  t.same(config.downstreams, ['https://catalog.example.com'], 'an origin with an exchange never gets the user\'s own token')
  t.same(config.downstreamExchanges, [
    { origin: 'https://details.example.com', audience: 'details' },
    { origin: 'https://reviews.example.com', audience: 'https://reviews.example.com/api' }
  ])
  t.ok(Object.isFrozen(config.downstreamExchanges) && Object.isFrozen(config.downstreamExchanges[0]), 'frozen')
  t.same(resolve().downstreamExchanges, [], 'none by default')
})

t.test('the option: strings and { origin, exchange } objects; it replaces both env vars', async (t) => {
  const config = resolve({ OIDC_DOWNSTREAMS: 'https://env.example.com', OIDC_DOWNSTREAM_EXCHANGE: 'https://envx.example.com=x' }, {
    downstreams: [
      'https://catalog.example.com',
      { origin: 'https://plain.example.com' },
      { origin: 'https://details.example.com', exchange: { audience: ' details ', scope: 'details:read' } },
      { origin: 'https://reviews.example.com', exchange: { resource: 'https://reviews.example.com/api', extra: 1 } as never }
    ]
  })
  t.same(config.downstreams, ['https://catalog.example.com', 'https://plain.example.com'])
  t.same(config.downstreamExchanges, [
    { origin: 'https://details.example.com', audience: 'details', scope: 'details:read' },
    { origin: 'https://reviews.example.com', resource: 'https://reviews.example.com/api' }
  ], 'trimmed, only the known parameters')
})

t.test('a malformed OIDC_DOWNSTREAM_EXCHANGE: one line per entry naming the variable', async (t) => {
  const found = problems(t, {
    OIDC_DOWNSTREAM_EXCHANGE: 'https://details.example.com, https://reviews.example.com=, https://api.example.com/v1=api, ftp://files.example.com=f, http://cleartext.example.com=c, https://a.example.com=a, https://A.example.com=b'
  })
  t.same(found, [
    'OIDC_DOWNSTREAM_EXCHANGE: expected <origin>=<audience>[,<origin>=<audience>…] such as https://details.internal=details (an audience after "="), got "https://details.example.com"',
    'OIDC_DOWNSTREAM_EXCHANGE: expected <origin>=<audience>[,<origin>=<audience>…] such as https://details.internal=details (an audience after "="), got "https://reviews.example.com="',
    'OIDC_DOWNSTREAM_EXCHANGE: expected <origin>=<audience>[,<origin>=<audience>…] such as https://details.internal=details (the origin: no path, query or fragment), got "https://api.example.com/v1"',
    'OIDC_DOWNSTREAM_EXCHANGE: expected <origin>=<audience>[,<origin>=<audience>…] such as https://details.internal=details (the origin: the scheme ftp: is not http(s)), got "ftp://files.example.com"',
    'OIDC_DOWNSTREAM_EXCHANGE: expected <origin>=<audience>[,<origin>=<audience>…] such as https://details.internal=details (the origin: http only for loopback hosts unless OIDC_ALLOW_HTTP=true), got "http://cleartext.example.com"',
    'OIDC_DOWNSTREAM_EXCHANGE: "https://a.example.com" is declared with an exchange twice'
  ])
})

t.test('malformed exchange objects in the option', async (t) => {
  const found = problems(t, {}, {
    downstreams: [
      { origin: 'https://a.example.com', exchange: {} },
      { origin: 'https://b.example.com', exchange: 'b' as never },
      { origin: 'https://c.example.com', exchange: { audience: '' } },
      { origin: 'https://d.example.com', exchange: { resource: 'not a uri' } },
      { origin: 'https://e.example.com', exchange: { resource: 'https://e.example.com/#x' } },
      { origin: 'https://f.example.com', exchange: { audience: 'f', scope: 42 as never } },
      { origin: 'https://user:pw@g.example.com', exchange: { audience: 'g' } }
    ]
  })
  t.same(found, [
    'downstreams: "https://a.example.com": exchange: an audience or a resource is required',
    'downstreams: "https://b.example.com": exchange: expected { audience, resource?, scope? }',
    'downstreams: "https://c.example.com": exchange.audience: expected a non-empty string',
    'downstreams: "https://d.example.com": exchange.resource: expected an absolute URI without fragment',
    'downstreams: "https://e.example.com": exchange.resource: expected an absolute URI without fragment',
    'downstreams: "https://f.example.com": exchange.scope: expected a non-empty string',
    'downstreams: expected origins such as https://api.example.com (no credentials), got "https://***@g.example.com"'
  ])
})

t.test('http origins for exchanges follow OIDC_ALLOW_HTTP like the others', async (t) => {
  t.same(resolve({ OIDC_DOWNSTREAM_EXCHANGE: 'http://details.internal:9080=details', OIDC_ALLOW_HTTP: 'true' }).downstreamExchanges,
    [{ origin: 'http://details.internal:9080', audience: 'details' }])
  t.same(resolve({ OIDC_DOWNSTREAM_EXCHANGE: 'http://127.0.0.1:9080=details' }).downstreamExchanges,
    [{ origin: 'http://127.0.0.1:9080', audience: 'details' }], 'loopback without it')
})
