// The example's own users table, for delegated authentication (HTTP Basic):
// SQLite (sql.js: SQLite compiled to WebAssembly, nothing to install), passwords
// hashed with scrypt and compared in constant time. The same code works with
// any SQL database: only `lookup` talks to it.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import initSqlJs from 'sql.js'
import type { FastifyRequest } from 'fastify'
import type { OidcAuthenticate, OidcBasicUser } from '../lib/index.js'

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>
const KEY_LENGTH = 32

/** The demo accounts (documented in the README): who may call /api/stock with Basic credentials. */
export const DEMO_USERS = [
  { username: 'warehouse', password: 'stock-demo-password', roles: ['stock'], name: 'Warehouse robot' },
  { username: 'auditor', password: 'audit-demo-password', roles: ['stock', 'admin'], name: 'Auditor' }
]

export interface UsersTable {
  /** `authenticate` for fastify-oidc: the user, or `null` for an unknown user or a wrong password alike. */
  authenticate: OidcAuthenticate
  /** Adds a user (the password is hashed with a fresh salt). */
  add: (username: string, password: string, roles: string[], name: string) => Promise<void>
}

/** Opens an in-memory SQLite database with a `users` table holding the demo accounts. */
export async function openUsersTable (): Promise<UsersTable> {
  const SQL = await initSqlJs()
  const db = new SQL.Database()
  db.run('CREATE TABLE users (username TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL, roles TEXT NOT NULL, name TEXT NOT NULL)')

  const add = async (username: string, password: string, roles: string[], name: string): Promise<void> => {
    const salt = randomBytes(16)
    const hash = await scrypt(password, salt, KEY_LENGTH)
    db.run('INSERT INTO users VALUES (?, ?, ?, ?, ?)', [username, salt, hash, roles.join(' '), name])
  }

  const lookup = (username: string): { salt: Buffer, hash: Buffer, roles: string, name: string } | undefined => {
    const statement = db.prepare('SELECT salt, hash, roles, name FROM users WHERE username = ?')
    try {
      statement.bind([username])
      if (!statement.step()) return undefined
      const row = statement.getAsObject() as { salt: Uint8Array, hash: Uint8Array, roles: string, name: string }
      return { salt: Buffer.from(row.salt), hash: Buffer.from(row.hash), roles: row.roles, name: row.name }
    } finally {
      statement.free()
    }
  }

  // An unknown user costs the same scrypt as a known one: timing does not tell them apart.
  const dummy = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) }

  const authenticate = async (username: string, password: string, _request: FastifyRequest): Promise<OidcBasicUser | null> => {
    const row = lookup(username)
    const candidate = await scrypt(password, (row ?? dummy).salt, KEY_LENGTH)
    if (row === undefined || !timingSafeEqual(candidate, row.hash)) return null
    return { sub: `local:${username}`, roles: row.roles.split(' '), claims: { name: row.name } }
  }

  for (const user of DEMO_USERS) await add(user.username, user.password, user.roles, user.name)
  return { authenticate, add }
}
