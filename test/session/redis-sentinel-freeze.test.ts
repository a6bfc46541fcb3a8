// The Sentinel failover of redis-sentinel.test.ts, with a primary that stops
// answering without closing its connections (SIGSTOP: a host that is down or
// cut off): commands to it only time out, so the instances follow the
// promoted replica because their clients hear the Sentinels' +switch-master
// (`failoverDetector`, set by the plugin for a redis+sentinel:// URL).
// Meanwhile: 503 with Retry-After, never 500. (The drill: ../helpers/sentinel-failover.ts.)
import t from 'tap'
import { sentinelFailoverDrill } from '../helpers/sentinel-failover.js'

t.test('a frozen Sentinel primary: the session made before opens afterwards on both instances; 503 + Retry-After during the switch', async (t) => {
  await sentinelFailoverDrill(t, 'freeze')
})
