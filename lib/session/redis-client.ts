import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { RedisTarget } from './redis-url.js'

/** Connection settings shared by every kind: fail fast (503) instead of queueing while Redis is away. */
export interface RedisConnectionSettings {
  commandTimeout: number
}

/** How often a Cluster client reloads its slot map, milliseconds (ioredis 4's default; ioredis 5 has none). */
const CLUSTER_SLOTS_REFRESH_MS = 5000

/** An `ioredis` client for a store URL (a `Cluster` for `redis+cluster://`). */
export function createRedisClient (target: RedisTarget, settings: RedisConnectionSettings): Redis | Cluster {
  const base: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeout,
    connectTimeout: settings.commandTimeout,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000)
  }
  if (target.kind === 'single') return new Redis(target.url, base)
  if (target.kind === 'cluster') {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      slotsRefreshTimeout: settings.commandTimeout,
      // Reload the slot map every few seconds: a master that stops answering without closing its
      // connections (host down, partition) only makes commands time out, which neither closes the
      // connection nor brings a MOVED, so nothing else would move its slots to the promoted replica.
      slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
      redisOptions: { ...base, username: target.username, password: target.password, ...(target.tls ? { tls: {} } : {}) },
      // TLS endpoints of managed clusters (ElastiCache, Memorystore) present a certificate for the host name, not the node IPs.
      ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {})
    }
    return new Cluster(target.nodes, options)
  }
  return new Redis({
    ...base,
    sentinels: target.sentinels,
    name: target.name,
    username: target.username,
    password: target.password,
    sentinelPassword: target.sentinelPassword,
    // After a failover the old primary may come back as a replica: reconnect through the Sentinels.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    // A primary that stops answering (host down, network cut) keeps its connection open: hear the
    // Sentinels' +switch-master and reconnect to the promoted replica instead of waiting on it.
    failoverDetector: true,
    ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {})
  })
}
