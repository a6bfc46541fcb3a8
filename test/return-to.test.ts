// safeReturnTo: only same-origin relative paths survive; everything else is `/`.
import t from 'tap'
import { safeReturnTo } from '../lib/return-to.js'

const BASE = 'https://shop.example.com'

t.test('same-origin relative paths are kept', async (t) => {
  const kept = ['/', '/a', '/a?b=1#c', '/orders/42?tab=items&x=%2F', '/search?q=a%20b', '/a/b/../c', '/caf%C3%A9']
  const expected = ['/', '/a', '/a?b=1#c', '/orders/42?tab=items&x=%2F', '/search?q=a%20b', '/a/c', '/caf%C3%A9']
  for (const [i, value] of kept.entries()) t.equal(safeReturnTo(value, BASE), expected[i], JSON.stringify(value))
})

t.test('anything else falls back to /', async (t) => {
  const refused = [
    '//evil.example', '//evil.example/path', '/\\evil.example', '\\\\evil.example', '/%2F%2Fevil', '%2F%2Fevil', '/%5Cevil', '/%5C%5Cevil',
    'https://evil.example', 'http://shop.example.com/a', 'javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,x',
    'evil.example', 'a/b', '?x=1', '#frag', '',
    '/a\u0000b', '/a\nLocation: https://evil', '/a\rb', '/\tevil', '/a\u007fb', '/a%0d%0aSet-Cookie:x=1', '/%00',
    '/..//evil.example', '/.//evil.example', '/a/..//evil.example', '/%2e%2e//evil.example', '/%2e//evil.example',
    '/%E0%A4%A', '/%', `/${'a'.repeat(2048)}`
  ]
  for (const value of refused) t.equal(safeReturnTo(value, BASE), '/', JSON.stringify(value.slice(0, 40)))
  t.equal(safeReturnTo(`/${'a'.repeat(2046)}`, BASE).length, 2047, 'just under the length limit is kept')
})

t.test('non-strings fall back to /', async (t) => {
  for (const value of [undefined, null, 42, ['/a'], { toString: () => '/a' }, true]) {
    t.equal(safeReturnTo(value, BASE), '/', String(value))
  }
})
