// Two app instances on a primary + replica watched by a Sentinel, all started
// by this test (OIDC_SESSION_STORE=redis+sentinel://…/<name>). The primary is
// killed: while the Sentinel promotes the replica, requests answer 503 with
// Retry-After (never 500); then both instances follow the new primary by
// themselves (no restart) and the session made before the failover still
// opens on both, and logout on one ends it on the other. (The drill:
// ../helpers/sentinel-failover.ts.)
import t from 'tap'
import { sentinelFailoverDrill } from '../helpers/sentinel-failover.js'

t.test('a session made before a Sentinel failover opens afterwards on both instances; 503 + Retry-After during the switch', async (t) => {
  await sentinelFailoverDrill(t, 'kill')
})
