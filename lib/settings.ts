/**
 * The shared reading of `OIDC_*` settings (explicit options over env vars,
 * every problem collected) and the checks every plugin's configuration uses:
 * the lowest layer of configuration, below the relying party's `config.ts`,
 * the providers' and the resource server's.
 */

const ASYMMETRIC_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'])

/** True for the JWS algorithms verified with a public key (never `none`, never HMAC). */
export function isAsymmetricAlg (alg: string): boolean {
  return ASYMMETRIC_ALGS.has(alg)
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost (hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** Raw env value parsers: `undefined` means the value is not acceptable. */
export const asString = (raw: string): string => raw
export const asList = (raw: string): string[] => raw.split(',').map((s) => s.trim()).filter(Boolean)
export const asBool = (raw: string): boolean | undefined => /^(true|1|yes)$/i.test(raw) ? true : /^(false|0|no)$/i.test(raw) ? false : undefined
export const asInt = (raw: string): number | undefined => /^\d+$/.test(raw) ? Number(raw) : undefined

/** Reads settings (explicit options over env vars) and collects every problem instead of throwing at the first. */
export interface SettingsReader {
  /** Every problem found so far, one line each. */
  problems: string[]
  /** `OIDC_ALLOW_HTTP` (or the option): http URLs accepted on non-loopback hosts. */
  allowHttp: boolean
  /** The trimmed env value, `undefined` when unset or empty. */
  read (name: string): string | undefined
  /** The option when given, else the parsed env var (a parse failure is a problem). */
  pick<T> (option: T | undefined, envName: string, parse: (raw: string) => T | undefined, expects: string): T | undefined
  /** An absolute http(s) URL without credentials or fragment; `idp` URLs need https unless loopback or allowHttp. */
  checkUrl (value: string | undefined, envName: string, opts?: { required?: boolean, idp?: boolean }): string | undefined
  /** A whole number within bounds, from the option, the env var or the fallback. */
  numberSetting (option: number | undefined, envName: string, fallback: number, min: number, max: number): number
}

/** The shared reader of `OIDC_*` settings used by every plugin's config. */
export function settingsReader (env: Record<string, string | undefined>, allowHttpOption: boolean | undefined): SettingsReader {
  const problems: string[] = []
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim()
    return value === '' ? undefined : value
  }
  const pick = <T>(option: T | undefined, envName: string, parse: (raw: string) => T | undefined, expects: string): T | undefined => {
    if (option !== undefined) return option
    const raw = read(envName)
    if (raw === undefined) return undefined
    const parsed = parse(raw)
    if (parsed === undefined) problems.push(`${envName}: expected ${expects}, got ${JSON.stringify(raw.slice(0, 40))}`)
    return parsed
  }
  const allowHttp = pick(allowHttpOption, 'OIDC_ALLOW_HTTP', asBool, 'true or false') ?? false
  const checkUrl = (value: string | undefined, envName: string, { required = false, idp = true } = {}): string | undefined => {
    if (value === undefined) {
      if (required) problems.push(`${envName}: required, expected an absolute https URL`)
      return undefined
    }
    // `idp.example.com` or `localhost:8080/realms/x` (read by URL as the scheme `localhost:`): a host without a scheme.
    if (!/^[a-z][a-z\d+.-]*:\/\//i.test(value) && /^(?:[\w-]+(?:\.[\w-]+)+|localhost|[\w-]+(?=:\d))(?::\d+)?(?:\/|$)/i.test(value)) {
      problems.push(`${envName}: ${JSON.stringify(value.slice(0, 60))} has no scheme: write https://${value.slice(0, 60)} (or http:// for a loopback host)`)
      return undefined
    }
    let url: URL
    try {
      url = new URL(value)
    } catch {
      problems.push(`${envName}: expected an absolute URL, got ${JSON.stringify(value.slice(0, 60))}`)
      return undefined
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      problems.push(`${envName}: expected an http(s) URL, got the scheme ${url.protocol}`)
    } else if (url.protocol === 'http:' && idp && !allowHttp && !isLoopbackHost(url.hostname)) {
      problems.push(`${envName}: expected an https URL (http is only accepted for loopback hosts unless OIDC_ALLOW_HTTP=true)`)
    } else if (url.username !== '' || url.password !== '' || url.hash !== '') {
      problems.push(`${envName}: must not contain credentials or a fragment`)
    }
    return value
  }
  const numberSetting = (option: number | undefined, envName: string, fallback: number, min: number, max: number): number => {
    const value = pick(option, envName, asInt, 'a whole number') ?? fallback
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${envName}: expected a whole number between ${min} and ${max}, got ${value}`)
    }
    return value
  }
  return { problems, allowHttp, read, pick, checkUrl, numberSetting }
}
