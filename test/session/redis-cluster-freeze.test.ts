// A Redis Cluster master stops answering without closing its connections
// (SIGSTOP: a host that is down or cut off) under two app instances, all
// started by this test. Commands to it only time out, which brings no MOVED
// and closes nothing: the instances follow the promoted replica because their
// clients reload the slot map every few seconds (`slotsRefreshInterval`, set
// by the plugin for a redis+cluster:// URL and recommended in the README for
// the app's own Cluster client, with a `commandTimeout`). Meanwhile: 200 or 503
// with Retry-After, never 500, never a hang. (The drill: ../helpers/cluster-failover.ts.)
import t from 'tap'
import { clusterFailoverDrill } from '../helpers/cluster-failover.js'

t.test('a Cluster master freezes: sessions made before open afterwards on both instances; 200 or 503 + Retry-After meanwhile', async (t) => {
  await clusterFailoverDrill(t, {
    failure: 'freeze',
    clientOptions: { enableOfflineQueue: false, slotsRefreshInterval: 5000, redisOptions: { commandTimeout: 2000 } }
  })
})
