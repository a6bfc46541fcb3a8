// Authentication levels (`acr`) for the development IdP (lib/dev-idp.ts), to try
// step-up: oidc-provider 9 puts the session's `acr` in ID tokens once `acrValues`
// is configured, but its devInteractions login sets none, and a voluntary
// `acr_values` request does not prompt a new login. The pieces below do both.
import type { Configuration, KoaContextWithOIDC, default as ProviderClass, interactionPolicy as Policy } from 'oidc-provider'

/**
 * The configuration part: `acrValues`, and a login prompt that also asks the user
 * to log in again when the request's `acr_values` do not name the session's `acr`
 * (not right after a login, which is final whatever it gave).
 */
export function acrConfiguration (acrValues: string[], policy: typeof Policy): Pick<Configuration, 'acrValues' | 'interactions'> {
  const prompts = policy.base()
  prompts.get('login')!.checks.add(new policy.Check('acr_values_unmet', 'the requested authentication level was not obtained', (ctx: KoaContextWithOIDC) => {
    const { oidc } = ctx
    const asked = oidc.params?.['acr_values']
    if (typeof asked !== 'string' || oidc.result?.['login'] !== undefined) return policy.Check.NO_NEED_TO_PROMPT
    return asked.split(' ').includes(String(oidc.session?.acr)) ? policy.Check.NO_NEED_TO_PROMPT : policy.Check.REQUEST_PROMPT
  }))
  return { acrValues, interactions: { policy: prompts } }
}

/**
 * Each login gets an `acr`: the first of the request's `acr_values` this IdP supports,
 * else its first (default) level. An IdP that cannot do what is asked says so in the
 * ID token, as a real one does — the relying party decides.
 */
export function issueRequestedAcr (provider: ProviderClass, acrValues: string[]): void {
  const finished = provider.interactionFinished.bind(provider)
  provider.interactionFinished = async (req, res, result, options) => {
    const { login } = result
    if (login === undefined) return await finished(req, res, result, options)
    const { params } = await provider.interactionDetails(req, res)
    // Every client of an IdP with levels has them all as default_acr_values: acr_values is always set.
    const asked = String(params['acr_values']).split(' ')
    const acr = asked.find((a) => acrValues.includes(a)) ?? acrValues[0]
    return await finished(req, res, { ...result, login: { ...login, acr } }, options)
  }
}

/** JWT access tokens carry the login's `acr` and `auth_time` (RFC 9470 step-up at resource servers). */
export function authenticationClaims (ctx: KoaContextWithOIDC): Record<string, unknown> {
  // The code exchange, or a refresh; a token exchange (no login of its own behind it) carries neither.
  const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken
  return source === undefined ? {} : { acr: source.acr, auth_time: source.authTime }
}
