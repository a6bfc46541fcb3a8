// Discovery failures in one line with the URL and the cause that `fetch failed` hides (issue 12, point 5).
import t from 'tap'
import { describeFetchFailure, httpStatusFailure } from '../../lib/provider/discovery-failure.js'

const URL_ = 'https://idp.example.com/.well-known/openid-configuration'
const fetchFailed = (cause?: unknown): Error => Object.assign(new TypeError('fetch failed'), cause === undefined ? {} : { cause })

t.test('the cause of a fetch failure: code and message, every address of a name, or the message alone', async (t) => {
  t.equal(describeFetchFailure(fetchFailed(Object.assign(new Error('write EPROTO 0028:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' })), URL_, 5000),
    `${URL_} could not be fetched: ERR_SSL_WRONG_VERSION_NUMBER: write EPROTO 0028:error:0A00010B:SSL routines:ssl3_get_record:wrong version number`)
  const aggregate = Object.assign(new AggregateError([new Error('connect ECONNREFUSED ::1:8080'), new Error('connect ECONNREFUSED 127.0.0.1:8080')], ''), { code: 'ECONNREFUSED' })
  t.equal(describeFetchFailure(fetchFailed(aggregate), URL_, 5000), `${URL_} could not be fetched: ECONNREFUSED: connect ECONNREFUSED ::1:8080; connect ECONNREFUSED 127.0.0.1:8080`)
  t.equal(describeFetchFailure(fetchFailed(new Error('unexpected redirect')), URL_, 5000), `${URL_} could not be fetched: unexpected redirect`)
  t.equal(describeFetchFailure(fetchFailed(), URL_, 5000), `${URL_}: fetch failed`)
  t.equal(describeFetchFailure(fetchFailed(null), URL_, 5000), `${URL_}: fetch failed`)
  t.equal(describeFetchFailure(Object.assign(new Error('timed out'), { name: 'TimeoutError' }), URL_, 5000), `${URL_} did not answer within 5000 ms`)
})

t.test('HTTP statuses: 5xx, 408 and 429 are an outage, other 4xx a misconfiguration', async (t) => {
  t.same([500, 503, 408, 429, 404, 401, 403].map((status) => httpStatusFailure(URL_, status).reason),
    ['provider_unavailable', 'provider_unavailable', 'provider_unavailable', 'provider_unavailable', 'provider_misconfigured', 'provider_misconfigured', 'provider_misconfigured'])
  t.match(httpStatusFailure(URL_, 404).message, /answered HTTP 404 \(check the issuer URL/)
})
