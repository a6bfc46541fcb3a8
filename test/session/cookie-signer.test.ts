// The session cookie's signer remembers the ids it verified (two HMACs fewer per
// logged-in request) and answers exactly as @fastify/cookie's signer does.
import { signerFactory } from '@fastify/cookie'
import t from 'tap'
import { SessionCookieSigner } from '../../lib/session/cookie-signer.js'

const OLD = 'old-secret-0123456789-0123456789-abcdef'
const NEW = 'new-secret-0123456789-0123456789-abcdef'

t.test('same answers as @fastify/cookie, remembered or not, for every key of a rotation', async (t) => {
  const plain = signerFactory([NEW, OLD], 'sha256')
  const signer = new SessionCookieSigner([NEW, OLD])
  const current = plain.sign('id-1')
  t.equal(signer.sign('id-1'), current, 'signs with the first key')
  for (let i = 0; i < 2; i++) {
    t.same(signer.unsign(current), { valid: true, renew: false, value: 'id-1' }, `a current cookie (${i === 0 ? 'checked' : 'remembered'})`)
    t.equal(signer.sign('id-1'), current, 'its id signed again gives the same value')
  }
  const older = signerFactory([OLD], 'sha256').sign('id-2')
  for (let i = 0; i < 2; i++) {
    t.same(signer.unsign(older), { valid: true, renew: true, value: 'id-2' }, 'a cookie signed with the old key: valid, to renew')
    t.equal(signer.sign('id-2'), plain.sign('id-2'), 'its id is signed with the new key')
  }
})

t.test('forged or altered cookies are refused every time, never remembered', async (t) => {
  const signer = new SessionCookieSigner([NEW])
  const good = signer.sign('id-1')
  const forged = signerFactory(['attacker-secret-0123456789-0123456789'], 'sha256').sign('id-1')
  for (const value of [forged, `${good}x`, good.replace('id-1', 'id-2'), 'no-signature', 'trailing.']) {
    for (let i = 0; i < 2; i++) t.same(signer.unsign(value), { valid: false, renew: false, value: null }, JSON.stringify(value))
  }
  t.same(signer.unsign(good), { valid: true, renew: false, value: 'id-1' }, 'the genuine one still opens')
})

t.test('bounded: full, it forgets everything and goes on checking', async (t) => {
  const plain = signerFactory([NEW], 'sha256')
  const signer = new SessionCookieSigner([NEW])
  let valid = 0
  for (let i = 0; i <= 10_000; i++) if (signer.unsign(plain.sign(`id-${i}`)).valid) valid++
  t.equal(valid, 10_001)
  t.same(signer.unsign(plain.sign('id-0')), { valid: true, renew: false, value: 'id-0' })
  t.equal(signer.sign('id-5'), plain.sign('id-5'))
})
