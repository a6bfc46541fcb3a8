import type { FastifyInstance } from 'fastify'
import type { ResolvedConfig } from '../config.js'
import { TransactionCookies, type ClaimOnce } from '../session/transaction.js'
import { startLine, unlistedMethodWarning } from './client-auth.js'
import { ProviderClient } from './client.js'
import { ProviderConnection } from './connection.js'

/**
 * Starts every configured provider — discovery in parallel, each retried in
 * the background when its IdP cannot be reached — and resolves to their
 * clients, the default one first. Rejects (after stopping them all) when one
 * is misconfigured. Their timers are cleared when the app closes. With
 * `claimOnce` (a store shared by instances) a login's state is claimed there too.
 */
export async function startProviders (fastify: FastifyInstance, config: ResolvedConfig, claimOnce?: ClaimOnce): Promise<ProviderClient[]> {
  const settings = { httpTimeout: config.httpTimeout, allowHttp: config.allowHttp, metadataRefresh: config.metadataRefresh }
  const connections = config.providers.map((provider) => new ProviderConnection(provider, settings, fastify.log))
  const stop = (): void => { for (const connection of connections) connection.close() }
  try {
    await Promise.all(connections.map(async (connection) => { await connection.start() }))
  } catch (err) {
    stop()
    throw err
  }
  fastify.addHook('onClose', async () => { stop() })
  // What to register at the IdP, and what kind of client it will see: one line per provider.
  for (const connection of connections) {
    const { provider } = connection
    const metadata = connection.discovered?.info.metadata
    const method = provider.tokenAuthMethod ?? (provider.clientSecret === undefined ? 'none' : 'client_secret')
    fastify.log.info({ provider: provider.name, redirectUri: provider.redirectUri, client: method === 'none' ? 'public' : 'confidential' },
      startLine(provider, config.redirectUris, metadata))
    const warning = unlistedMethodWarning(provider, metadata)
    if (warning !== undefined) fastify.log.warn({ provider: provider.name }, warning)
  }
  // One set of login transactions for all: a transaction names the provider it was started for.
  const transactions = new TransactionCookies(config.sessionSecrets, config.prefix, config.secureCookies, claimOnce)
  return connections.map((connection) => new ProviderClient({ config, connection, transactions }))
}
