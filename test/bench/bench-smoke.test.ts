// The benchmark's own smoke check (no timing here, nor anywhere in the tests):
// every server `npm run bench` measures answers 200 with the right body to its
// genuine credential — real logins through the dev IdP for the relying parties,
// real tokens for the resource servers — and refuses a request without one.
// The servers are the bench's own (bench/servers/); they run in this process
// here, each in its own child process under `npm run bench`.
import t from 'tap'
import { prepareRows } from '../../bench/harness.js'
import { SUB } from '../../bench/fixture.js'
import { expectedBody, REDIS_CLUSTER_URL, REDIS_URL as BENCH_REDIS_URL, ROWS as BENCH_ROWS } from '../../bench/spec.js'
import { REDIS_URL } from '../helpers/redis.js'
import { startCluster } from '../helpers/redis-servers.js'

// The Redis row uses this run's Redis (which may be one started for the run, not 6379),
// the Cluster row a 3-master cluster started here (as `npm run bench` does).
const cluster = await startCluster(t)
const ROWS = BENCH_ROWS.map((row) => row.sessionStore === BENCH_REDIS_URL
  ? { ...row, sessionStore: REDIS_URL }
  : row.sessionStore === REDIS_CLUSTER_URL ? { ...row, sessionStore: cluster.url } : row)

t.test('every benchmark server answers its credential and refuses a request without one', async (t) => {
  // prepareRows checks each row before the bench measures anything, and throws when one is wrong.
  const prepared = await prepareRows({ rows: ROWS, sequential: false, runtime: 'in-process' })
  t.teardown(() => prepared.close())

  t.same(prepared.skipped.filter(({ row }) => row.optional === undefined).map(({ row }) => row.id), [], 'only an optional row may be skipped')
  for (const { row, reason } of prepared.skipped) t.comment(`row ${row.id} skipped: ${reason}`)
  t.same([...prepared.rows.map(({ row }) => row.id), ...prepared.skipped.map(({ row }) => row.id)].sort(), ROWS.map(({ id }) => id).sort(), 'every row is started')

  for (const { row, url, headers, writes, loginWrites } of prepared.rows) {
    const before = await writes()
    const answered = await fetch(url, { headers, redirect: 'manual' })
    t.equal(answered.status, 200, `row ${row.id} (${row.label}): 200 with its credential`)
    t.equal(await answered.text(), expectedBody(SUB), `row ${row.id}: the user's sub`)
    if (row.kind === 'oidc') {
      // What `npm run bench` prints per request: a login writes its session once, a read-only request nothing.
      t.equal(loginWrites?.set, 1, `row ${row.id}: the login wrote one session`)
      t.equal(loginWrites?.destroy, 0, `row ${row.id}: and destroyed none`)
      t.same(await writes(), before, `row ${row.id}: a read-only request wrote nothing to the store`)
      t.same(answered.headers.getSetCookie(), [], `row ${row.id}: and set no cookie`)
    }
    if (row.credential === 'none') continue
    t.not(Object.keys(headers).length, 0, `row ${row.id} has a credential`)
    const refused = await fetch(url, { redirect: 'manual' })
    await refused.arrayBuffer()
    t.ok(refused.status === 401 || refused.status === 302, `row ${row.id}: refused without a credential (got ${refused.status})`)
  }
})
