// A downstream that answers 401 to a token the session still holds (revoked,
// say): fetch refreshes it — once per session, also when calls of one request
// or of concurrent requests are refused together — and sends the request once
// more, with the same body, carrying the new token.
import t from 'tap'
import { startDownstream, startForwarding, type BodyKind, type DownstreamRequest, type DownstreamScript } from '../helpers/downstream.js'

const REFUSE = { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' }, body: '{"error":"invalid_token"}' }
const bearer = (request: DownstreamRequest): string => String(request.headers.authorization).replace(/^Bearer /, '')

/** A downstream that refuses the tokens in `revoked` with an RFC 6750 401 and a body. */
function refusing (revoked: Set<string>): DownstreamScript {
  return (request) => revoked.has(bearer(request)) ? REFUSE : undefined
}

t.test('401 -> one refresh -> one retry with the same body and the new token, for every replayable body', async (t) => {
  const revoked = new Set<string>()
  const api = await startDownstream(t, refusing(revoked))
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  const kinds: Array<BodyKind | undefined> = [undefined, 'string', 'urlsearchparams', 'arraybuffer', 'uint8array', 'blob', 'formdata']
  for (const [i, kind] of kinds.entries()) {
    const current = setup.issued.at(-1)!.accessToken
    revoked.add(current)
    const before = api.requests.length
    const res = await setup.call({ url: `${api.origin}/orders`, body: kind, text: `body-${i}` })
    const what = kind ?? 'no body'
    t.equal(res.status, 200, `${what}: the app answered`)
    t.same(res.body, [{ status: 200, location: null, body: `{"ok":true,"n":${before + 2}}` }], `${what}: the retry's answer is returned`)
    const [first, second] = api.requests.slice(before)
    t.equal(api.requests.length - before, 2, `${what}: exactly two downstream requests`)
    t.equal(setup.idp.countGrants('refresh_token'), i + 1, `${what}: one more refresh grant`)
    const fresh = setup.issued.at(-1)!
    t.equal(fresh.grantType, 'refresh_token')
    t.equal(first?.headers.authorization, `Bearer ${current}`, `${what}: first with the refused token`)
    t.equal(second?.headers.authorization, `Bearer ${fresh.accessToken}`, `${what}: retry with the new token`)
    t.equal(second?.method, first?.method, `${what}: same method`)
    if (kind === 'formdata') {
      for (const sent of [first, second]) t.match(sent?.body, new RegExp(`name="text"\\r\\n\\r\\nbody-${i}\\r\\n`), 'formdata: the same field each time')
    } else {
      t.equal(second?.body, first?.body, `${what}: the same body`)
      t.equal(second?.body, kind === undefined ? '' : kind === 'urlsearchparams' ? `text=body-${i}` : `body-${i}`, `${what}: the body sent`)
    }
  }
  t.equal(setup.events.filter((e) => e.type === 'refresh').length, kinds.length, 'one refresh event per refused token')
  const session = JSON.parse((await setup.browser.get(`${setup.baseUrl}/auth/session`)).body)
  t.equal(session.authenticated, true, 'the session goes on')
})

t.test('calls of one request refused together share one refresh', async (t) => {
  const revoked = new Set<string>()
  const api = await startDownstream(t, refusing(revoked))
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  revoked.add(setup.issued[0]!.accessToken)
  const res = await setup.call({ url: `${api.origin}/x`, parallel: 4 })
  t.same(res.body.map((r: { status: number }) => r.status), [200, 200, 200, 200], 'every call succeeded')
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'one refresh grant')
  const fresh = setup.issued.at(-1)!.accessToken
  const tokens = api.requests.map((r) => r.headers.authorization)
  t.equal(tokens.filter((a) => a === `Bearer ${fresh}`).length, 4, 'four retries with the new token')
  t.equal(tokens.length, 8, 'four refused calls, four retries')
})

t.test('concurrent requests of one session refused together share one refresh', async (t) => {
  const revoked = new Set<string>()
  const api = await startDownstream(t, refusing(revoked))
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  revoked.add(setup.issued[0]!.accessToken)
  const answers = await Promise.all(Array.from({ length: 4 }, async () => await setup.call({ url: `${api.origin}/y` })))
  t.same(answers.map((a) => a.body[0]?.status), [200, 200, 200, 200], 'every request succeeded')
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'one refresh grant for the session')
  const fresh = setup.issued.at(-1)!.accessToken
  t.equal(api.requests.filter((r) => r.headers.authorization === `Bearer ${fresh}`).length, 4, 'each request was answered with the new token')
})

t.test('a call refused after another call of the request refreshed takes the new token, without a second refresh', async (t) => {
  const revoked = new Set<string>()
  let retried = (): void => {}
  const firstRetry = new Promise<void>((resolve) => { retried = resolve })
  const api = await startDownstream(t, async (request, index) => {
    if (!revoked.has(bearer(request))) {
      retried()
      return undefined
    }
    // The second refused call hears its 401 only once the first one was retried with a new token.
    if (index > 0) await firstRetry
    return REFUSE
  })
  const setup = await startForwarding(t, { downstreams: [api.origin] })
  revoked.add(setup.issued[0]!.accessToken)
  const res = await setup.call({ url: `${api.origin}/z`, parallel: 2 })
  t.same(res.body.map((r: { status: number }) => r.status), [200, 200], 'both calls succeeded')
  t.equal(setup.idp.countGrants('refresh_token'), 1, 'one refresh grant')
  const fresh = `Bearer ${setup.issued.at(-1)!.accessToken}`
  const old = `Bearer ${setup.issued[0]!.accessToken}`
  t.same(api.requests.map((r) => r.headers.authorization), [old, old, fresh, fresh], 'two refused calls, two retries with the new token')
})
