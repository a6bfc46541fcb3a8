// OIDC_SESSION_STORE URL forms (one server, Cluster, Sentinel, with TLS), read
// in one module; a malformed one is a configuration error naming the variable
// that never echoes a password.
import t from 'tap'
import { resolveConfig } from '../../lib/index.js'
import { parseRedisUrl } from '../../lib/session/redis-url.js'

const VALID = {
  OIDC_ISSUER: 'https://idp.example.com',
  OIDC_CLIENT_ID: 'shop',
  OIDC_BASE_URL: 'https://shop.example.com',
  OIDC_SESSION_SECRET: 'redis-url-test-session-secret-0123456789'
}

function problem (store: string): string {
  try {
    resolveConfig({ env: { ...VALID, OIDC_SESSION_STORE: store } })
  } catch (err) {
    return (err as Error).message
  }
  throw new Error(`accepted: ${store}`)
}

t.test('the accepted forms', async (t) => {
  t.same(parseRedisUrl('redis://cache:6379/2'), { kind: 'single', url: 'redis://cache:6379/2', tls: false })
  t.same(parseRedisUrl('rediss://:pw@cache:6380'), { kind: 'single', url: 'rediss://:pw@cache:6380', tls: true })
  t.same(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,node-3'), {
    kind: 'cluster',
    nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: 'node-3', port: 6379 }],
    username: undefined,
    password: undefined,
    tls: false
  })
  t.same(parseRedisUrl('rediss+cluster://app:s%40cret@clustercfg.shop.abc123.use1.cache.amazonaws.com:6379'), {
    kind: 'cluster',
    nodes: [{ host: 'clustercfg.shop.abc123.use1.cache.amazonaws.com', port: 6379 }],
    username: 'app',
    password: 's@cret',
    tls: true
  }, 'user, percent-encoded password, TLS')
  t.same(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2,[::1]:26380/mymaster?sentinelPassword=sp'), {
    kind: 'sentinel',
    sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: '::1', port: 26380 }],
    name: 'mymaster',
    username: undefined,
    password: 'pw',
    sentinelPassword: 'sp',
    tls: false
  })
  t.match(parseRedisUrl('redis+cluster://app@a:1'), { username: 'app', password: undefined }, 'a user name without a password')
  t.match(parseRedisUrl('redis+cluster://:@a:1'), { username: undefined, password: '' })
  t.match(parseRedisUrl('rediss+sentinel://s1:26379/primary'), { kind: 'sentinel', tls: true, name: 'primary', sentinelPassword: undefined })
  for (const url of ['redis://cache:6379', 'redis+cluster://a:1,b:2', 'rediss+sentinel://s:26379/m?sentinelPassword=x']) {
    t.equal(resolveConfig({ env: { ...VALID, OIDC_SESSION_STORE: url } }).sessionStore, url, `OIDC_SESSION_STORE=${url.split(':')[0]!}`)
  }
  t.equal(resolveConfig({ env: VALID, sessionStore: 'redis+cluster://a:1' }).sessionStore, 'redis+cluster://a:1', 'the sessionStore option')
})

t.test('malformed URLs: a configuration error naming the variable, never the password', async (t) => {
  const cases = [
    'redis+sentinel://:s3cr3t-pw@s1:26379',
    'redis+sentinel://:s3cr3t-pw@s1:26379/a/b',
    'redis+sentinel://s1:26379/m?sentinelPassword=s3cr3t-pw&db=2',
    'redis+cluster://:s3cr3t-pw@a:1/0',
    'redis+cluster://:s3cr3t/pw@host:1',
    'redis+cluster://:s3cr3t-pw@a:99999',
    'redis+cluster://:s3cr3t-pw@a:1,,b:2',
    'redis+cluster://:%E0%A4%A@a:1',
    'redis+cluster://%E0%A4%A:s3cr3t-pw@a:1',
    'redis+cluster://:s3cr3t-pw@a b:1',
    'redis+memcached://:s3cr3t-pw@a:1',
    'redis://:s3cr3t-pw@[bad',
    'redis+cluster'
  ]
  for (const url of cases) {
    t.equal(parseRedisUrl(url), undefined, url.replace(/s3cr3t/, '…'))
    const message = problem(url)
    t.match(message, /OIDC_SESSION_STORE: expected memory, a redis:\/\/ or rediss:\/\/ URL, redis\+cluster:\/\//)
    t.notOk(message.includes('s3cr3t'), 'the password is not echoed')
  }
})

t.test('the client each form builds: a Cluster for cluster URLs, Sentinels for sentinel URLs, TLS for rediss+', async (t) => {
  const { Cluster, Redis } = await import('ioredis')
  const { RedisStore } = await import('../../lib/index.js')
  const open = (url: string): InstanceType<typeof RedisStore> => {
    const store = new RedisStore({ url, commandTimeout: 300 })
    store.client.on('error', () => {})
    t.teardown(() => store.close())
    return store
  }
  const cluster = open('rediss+cluster://app:pw@127.0.0.1:1,127.0.0.1:2').client as InstanceType<typeof Cluster>
  t.ok(cluster instanceof Cluster)
  t.match(cluster.options, { enableOfflineQueue: false, redisOptions: { username: 'app', password: 'pw', tls: {}, enableOfflineQueue: false } })
  const looked = await new Promise((resolve) => cluster.options.dnsLookup!('clustercfg.example.com', (_err, address) => resolve(address)))
  t.equal(looked, 'clustercfg.example.com', 'TLS cluster nodes keep their host name (certificate check)')
  t.equal(cluster.options.clusterRetryStrategy!(30, new Error('down')), 2000, 'retries with a bounded back-off')
  t.notOk('tls' in ((open('redis+cluster://127.0.0.1:1').client as InstanceType<typeof Cluster>).options.redisOptions ?? {}), 'no TLS without rediss+')

  const sentinel = open('rediss+sentinel://:pw@127.0.0.1:1/mymaster?sentinelPassword=sp').client as InstanceType<typeof Redis>
  t.ok(sentinel instanceof Redis)
  t.match(sentinel.options, { name: 'mymaster', sentinels: [{ host: '127.0.0.1', port: 1 }], password: 'pw', sentinelPassword: 'sp', tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true, enableOfflineQueue: false })
  t.equal(sentinel.options.reconnectOnError!(new Error('READONLY You can\'t write against a read only replica.')), true, 'a demoted primary: reconnect through the Sentinels')
  t.equal(sentinel.options.reconnectOnError!(new Error('ERR other')), false)
  t.notOk('tls' in (open('redis+sentinel://127.0.0.1:1/m').client as InstanceType<typeof Redis>).options)

  t.throws(() => new RedisStore({ url: 'redis+sentinel://127.0.0.1:1' }), /RedisStore: url is not a redis:\/\//, 'a Sentinel URL without a master name')
})
