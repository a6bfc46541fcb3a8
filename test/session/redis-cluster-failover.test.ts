// A Redis Cluster master crashes (SIGKILL: its connections close) under two
// app instances, all started by this test: while the cluster promotes the
// master's replica, requests answer 200 or 503 with Retry-After (never 500);
// then both instances follow the new master by themselves (no restart), the
// session made before the failover opens on both, and a new login works.
// Instance B's own Cluster client has only `enableOfflineQueue: false`: ioredis
// follows a crashed master with its defaults. (The drill: ../helpers/cluster-failover.ts.)
import t from 'tap'
import { clusterFailoverDrill } from '../helpers/cluster-failover.js'

t.test('a Cluster master is killed: sessions made before open afterwards on both instances; 200 or 503 + Retry-After meanwhile', async (t) => {
  await clusterFailoverDrill(t, { failure: 'kill', clientOptions: { enableOfflineQueue: false } })
})
