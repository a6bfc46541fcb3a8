// A token endpoint error whose `error` is not a usable OAuth error code (markup,
// a number, no body at all) is an unusable answer: 502 FST_OIDC_IDP_BAD_RESPONSE
// with reason token_error, and nothing of it is echoed. A well-formed code on a
// 4xx is the IdP saying no: 401 FST_OIDC_IDP_ERROR naming the code.
import t from 'tap'
import { expectRejected, hitCallback, reachCallback, scriptToken, startAttack } from '../helpers/attack.js'
import type { TokenScript } from '../helpers/hostile-op.js'

const unusable: Array<{ name: string, answer: TokenScript }> = [
  { name: 'an error code with markup', answer: { status: 400, body: { error: '<img src=x onerror=alert(1)>' } } },
  { name: 'an error code too long to be one', answer: { status: 400, body: { error: 'x'.repeat(65) } } },
  { name: 'a numeric error', answer: { status: 400, body: { error: 42 } } },
  { name: 'an empty JSON body', answer: { status: 400, body: '', headers: { 'content-type': 'application/json' } } },
  { name: 'JSON null', answer: { status: 400, body: 'null', headers: { 'content-type': 'application/json' } } }
]

for (const { name, answer } of unusable) {
  t.test(`HTTP 400 with ${name} -> 502 FST_OIDC_IDP_BAD_RESPONSE`, async (t) => {
    const attack = await startAttack(t)
    scriptToken(attack, () => answer)
    const res = await hitCallback(attack, await reachCallback(attack))
    await expectRejected(t, attack, res, { status: 502, code: 'FST_OIDC_IDP_BAD_RESPONSE', reason: 'token_error' })
    t.match(JSON.parse(res.body).message, /answered HTTP 400/)
    t.notMatch(res.body, /img|xxxxxxxx|42/, 'nothing of the IdP\'s error is echoed')
  })
}

t.test('HTTP 400 with a well-formed code -> 401 FST_OIDC_IDP_ERROR naming it', async (t) => {
  const attack = await startAttack(t)
  scriptToken(attack, () => ({ status: 400, body: { error: 'unauthorized_client', error_description: '<b>no</b>' } }))
  const res = await hitCallback(attack, await reachCallback(attack))
  await expectRejected(t, attack, res, { status: 401, code: 'FST_OIDC_IDP_ERROR', reason: 'token_error' })
  t.match(JSON.parse(res.body).message, /unauthorized_client/)
  t.notMatch(res.body, /<b>/, 'the description is not echoed')
})
