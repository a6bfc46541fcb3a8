// OIDC_DOWNSTREAMS / `downstreams`: origins only, kept as the URL parser
// normalises them (so a target's `new URL().origin` compares equal), http only
// for loopback hosts unless OIDC_ALLOW_HTTP, every bad entry named at register()
// without echoing credentials.
import t from 'tap'
import { problems, resolve } from '../helpers/downstream-config.js'

t.test('origins are normalised as URL origins', async (t) => {
  const config = resolve({
    OIDC_DOWNSTREAMS: 'https://API.Example.com:443, HTTPS://reviews.example.com/, http://127.0.0.1:8080, http://localhost:3001/, http://[::1]:9000, https://details.example.com:8443'
  })
  t.same(config.downstreams, [
    'https://api.example.com', 'https://reviews.example.com', 'http://127.0.0.1:8080', 'http://localhost:3001',
    'http://[::1]:9000', 'https://details.example.com:8443'
  ])
  t.same(resolve({}, { downstreams: ['https://a.example.com/'] }).downstreams, ['https://a.example.com'], 'the option too')
  t.same(resolve({ OIDC_DOWNSTREAMS: 'https://env.example.com' }, { downstreams: [] }).downstreams, [], 'the option wins over env')
  t.same(resolve().downstreams, [], 'none by default')
})

t.test('http only for loopback hosts unless OIDC_ALLOW_HTTP', async (t) => {
  const found = problems(t, { OIDC_DOWNSTREAMS: 'http://details.internal:9080,http://127.0.0.1:9080' })
  t.same(found, ['OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (http only for loopback hosts unless OIDC_ALLOW_HTTP=true), got "http://details.internal:9080"'])
  t.same(resolve({ OIDC_DOWNSTREAMS: 'http://details.internal:9080', OIDC_ALLOW_HTTP: 'true' }).downstreams, ['http://details.internal:9080'])
  t.same(resolve({}, { allowHttp: true, downstreams: ['http://reviews:9080'] }).downstreams, ['http://reviews:9080'])
})

t.test('every bad entry is named, credentials are not echoed', async (t) => {
  const found = problems(t, {
    OIDC_DOWNSTREAMS: [
      'https://ok.example.com', 'https://api.example.com/v1', 'https://api.example.com/?x=1', 'https://api.example.com/#top',
      'https://svc:hunter2@api.example.com', 'ftp://files.example.com', 'api.example.com'
    ].join(',')
  })
  t.same(found, [
    'OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (no path, query or fragment), got "https://api.example.com/v1"',
    'OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (no path, query or fragment), got "https://api.example.com/?x=1"',
    'OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (no path, query or fragment), got "https://api.example.com/#top"',
    'OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (no credentials), got "https://***@api.example.com"',
    'OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (the scheme ftp: is not http(s)), got "ftp://files.example.com"',
    'OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (not an absolute URL), got "api.example.com"'
  ])
})

t.test('the option must be an array of strings', async (t) => {
  t.same(problems(t, {}, { downstreams: 'https://api.example.com' as unknown as string[] }),
    ['downstreams: expected an array of origins such as https://api.example.com'])
  t.same(problems(t, {}, { downstreams: ['https://api.example.com', 42 as unknown as string] }),
    ['OIDC_DOWNSTREAMS: expected origins such as https://api.example.com (not an absolute URL), got "42"'])
})
