// The audit trail as an application would keep it: onAudit appends each event
// as a JSON line to a file. After a mix of Basic successes and failures (and an
// OIDC login), the file holds every event with its reason, and no password,
// token or raw control character anywhere.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { OidcAuditEvent } from '../../lib/index.js'
import { basic, startBasicApp, USERS } from '../helpers/basic.js'

t.test('every Basic outcome lands in the audit file with its reason; no password anywhere', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'oidc-audit-')), 'audit.jsonl')
  const app = await startBasicApp(t, {
    basicMaxFailures: 2,
    onAudit: (event) => appendFileSync(file, `${JSON.stringify(event)}\n`)
  })
  await app.call('/basic', { authorization: basic('alice', USERS.alice.password) })
  await app.call('/basic')
  await app.call('/basic', { authorization: 'Basic %%%' })
  await app.call('/basic', { authorization: basic('evil\r\nuser', 'pw-in-crlf-attempt') })
  await app.call('/basic', { authorization: basic('bob', 'bobs-wrong-password') })
  await app.call('/basic', { authorization: basic('bob', 'bobs-second-guess') })
  await app.call('/basic', { authorization: basic('bob', 'bobs-third-guess') })

  const text = readFileSync(file, 'utf8')
  const events = text.trim().split('\n').map((line) => JSON.parse(line) as OidcAuditEvent)
  t.same(events.map((e) => [e.type, e.reason ?? null, e.username ?? null]), [
    ['basic_auth', null, 'alice'],
    ['basic_auth_failure', 'missing', null],
    ['basic_auth_failure', 'malformed', null],
    ['basic_auth_failure', 'malformed', 'evil\\u000d\\u000auser'],
    ['basic_auth_failure', 'unknown_user_or_bad_password', 'bob'],
    ['basic_auth_failure', 'unknown_user_or_bad_password', 'bob'],
    ['basic_auth_failure', 'throttled', 'bob']
  ])
  for (const event of events) {
    t.match(event, { at: /^\d{4}-\d\d-\d\dT[\d:.]+Z$/, ip: '127.0.0.1', route: '/basic', requestId: /./ })
  }
  t.equal(text.split('\n').length, events.length + 1, 'one line per event: no forged line')
  for (const secret of [USERS.alice.password, 'pw-in-crlf-attempt', 'bobs-wrong-password', 'bobs-second-guess', 'bobs-third-guess']) {
    t.notOk(text.includes(secret), 'no password in the audit file')
    t.notOk(app.logs.some((line) => line.includes(secret)), 'nor in the logs')
  }
})
