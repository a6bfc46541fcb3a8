// The benchmark's DPoP row (issue 17): row 11d is row 11 with the relying
// party's `dpop: true`, calling an oidcResourceServer downstream with
// `dpop: 'required'`; row 11v is its bearer twin, calling one that verifies the
// JWT. Checked here in this process (no timing): the dev IdP bound 11d's token
// to a key, its downstream was sent `Authorization: DPoP` with a proof on every
// request and refused none, even under a short load; it really checks (the
// token alone, or with another key's proof, is refused); and the report's lines.
import t from 'tap'
import { decodeJwt } from 'jose'
import { prepareRows } from '../../bench/harness.js'
import { load } from '../../bench/load.js'
import { downstreamLines, dpopLines, type RowReport } from '../../bench/report.js'
import { ROWS, type RowDef } from '../../bench/spec.js'
import { dpopKey, proof } from '../helpers/dpop.js'

const rows = ROWS.filter((row) => ['11', '11v', '11d'].includes(row.id))

t.test('row 11d sends DPoP-bound tokens with a fresh proof to a downstream that checks them', async (t) => {
  t.same(rows.map((row) => row.id), ['11', '11v', '11d'], 'the three fetch rows of issue 17 are in the bench')
  // prepareRows logs in for real and checks each row answers 200 (its route throws when the downstream refuses).
  const prepared = await prepareRows({ rows, runtime: 'in-process' })
  t.teardown(() => prepared.close())
  const { downstreams, issued } = prepared.fixture
  const tokenOf = (id: string): { access_token: string, token_type: string } => issued.findLast((i) => i.clientId === `bench-row-${id}`)!.body

  const dpopToken = tokenOf('11d')
  t.equal(dpopToken.token_type, 'DPoP', 'row 11d: the dev IdP answered token_type DPoP')
  t.type((decodeJwt(dpopToken.access_token)['cnf'] as { jkt?: unknown } | undefined)?.jkt, 'string', 'and bound the access token to a key (cnf.jkt)')
  const bearerToken = tokenOf('11v')
  t.equal(bearerToken.token_type, 'Bearer', 'row 11v: a plain bearer token')
  t.equal(decodeJwt(bearerToken.access_token)['cnf'], undefined, 'bound to nothing')

  const row = prepared.rows.find((r) => r.row.id === '11d')!
  const before = downstreams.seen('verify-dpop')
  t.ok(before.requests >= 1, 'the check before measuring reached the DPoP downstream')
  const result = await load({ url: row.url, headers: row.headers, seconds: 1, connections: 2 })
  t.ok(result.requests > 0, `a short load on row 11d made requests (${result.requests})`)
  t.equal(result.non2xx, 0, 'non-2xx: 0')
  t.equal(result.errors, 0, 'errors and time-outs: 0')
  const after = downstreams.seen('verify-dpop')
  t.ok(after.requests - before.requests >= result.requests, 'each answered request made one downstream call')
  t.same(after.schemes, { DPoP: after.requests }, 'every call carried Authorization: DPoP')
  t.equal(after.proofs, after.requests, 'and a DPoP proof')
  t.equal(after.refused, 0, 'the downstream refused none (each proof fresh: no jti seen twice, htm and htu right)')

  const bearerSeen = downstreams.seen('verify-bearer')
  t.ok(bearerSeen.requests >= 1, 'row 11v reached its verifying downstream')
  t.same(bearerSeen.schemes, { Bearer: bearerSeen.requests }, 'row 11v: Authorization: Bearer')
  t.equal(bearerSeen.proofs, 0, 'without a proof')
  t.equal(bearerSeen.refused, 0, 'none refused')
  t.same(downstreams.seen('header').schemes, { Bearer: downstreams.seen('header').requests }, 'row 11: Bearer to the header-only downstream')
  const lines = downstreamLines(rows, downstreams).split('\n')
  t.equal(lines.length, 3, 'the report: one line per downstream used')
  t.match(lines[2], /^- verify-dpop \(row 11d\): ([\d,]+) requests \(Authorization: DPoP \1\), \1 with a DPoP proof, 0 refused$/)

  // The DPoP downstream really checks: the token without its key's proof is refused.
  const url = downstreams.url('verify-dpop')
  const asBearer = await fetch(url, { headers: { authorization: `Bearer ${dpopToken.access_token}` } })
  t.equal(asBearer.status, 401, 'the bound token as Bearer: refused')
  const noProof = await fetch(url, { headers: { authorization: `DPoP ${dpopToken.access_token}` } })
  t.equal(noProof.status, 401, 'as DPoP without a proof: refused')
  const otherKey = await fetch(url, { headers: { authorization: `DPoP ${dpopToken.access_token}`, dpop: await proof(await dpopKey(), 'GET', url, dpopToken.access_token) } })
  t.equal(otherKey.status, 401, 'with a proof of another key: refused')
  t.equal(downstreams.seen('verify-dpop').refused, 3, 'the downstream counts its refusals')
  t.match(downstreamLines(rows, downstreams), /- verify-dpop \(row 11d\): .*Bearer 1\), .* 3 refused/, 'and the report says so')
  // The bearer one verifies the JWT; the header-only one of row 11 does not.
  const [head, payload] = bearerToken.access_token.split('.')
  const forged = `${head}.${payload}.${Buffer.from('not the signature').toString('base64url')}`
  t.equal((await fetch(downstreams.url('verify-bearer'), { headers: { authorization: `Bearer ${forged}` } })).status, 401, 'row 11v\'s downstream refuses a forged signature')
  t.equal((await fetch(downstreams.url('header'), { headers: { authorization: `Bearer ${forged}` } })).status, 200, 'row 11\'s downstream checks only the header')
})

t.test('the DPoP ratio lines: 11d / 11v (like for like), 11d / 11, 11v / 11, each with its round range', async (t) => {
  const report = (row: RowDef, rps: number[]): RowReport => ({
    row,
    rounds: rps.map((r) => ({ rps: r, requests: r, p50: 1, p99: 2, non2xx: 0, errors: 0 })),
    rss: 0,
    credentialBytes: 0
  })
  const [r11, r11v, r11d] = rows as [RowDef, RowDef, RowDef]
  const lines = dpopLines([report(r11, [250, 250]), report(r11v, [200, 200]), report(r11d, [100, 120])]).split('\n')
  t.equal(lines.length, 3)
  t.match(lines[0], /^- \(11d\) \/ \(11v\): DPoP vs Bearer, .*like for like: 0\.55x \(rounds 0\.50x–0\.60x\)$/)
  t.match(lines[1], /^- \(11d\) \/ \(11\): .*: 0\.44x \(rounds 0\.40x–0\.48x\)$/)
  t.match(lines[2], /^- \(11v\) \/ \(11\): .*: 0\.80x \(rounds 0\.80x–0\.80x\)$/)
  t.equal(dpopLines([report(r11, [250])]), '', 'nothing when the DPoP rows did not run')
})
