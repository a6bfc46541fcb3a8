const MAX_LENGTH = 2048

/**
 * Returns `value` when it is a same-origin relative path, otherwise `/`.
 * Refuses absolute and scheme-relative URLs (`//evil`, `/\evil`), schemes,
 * control characters, and their percent-encoded forms.
 *
 * @example
 * safeReturnTo('/orders?id=1', 'https://app.example') // '/orders?id=1'
 * safeReturnTo('//evil.example', 'https://app.example') // '/'
 */
export function safeReturnTo (value: unknown, baseUrl: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return '/'
  let decoded: string
  try {
    decoded = decodeURIComponent(value)
  } catch {
    return '/'
  }
  for (const candidate of [value, decoded]) {
    // eslint-disable-next-line no-control-regex
    if (!candidate.startsWith('/') || /^\/[/\\]/.test(candidate) || /[\u0000-\u001f\u007f\\]/.test(candidate)) return '/'
  }
  const base = new URL(baseUrl)
  const url = new URL(value, base)
  // Dot segments are resolved here: `/..//evil` becomes the path `//evil`, which a browser reads as another host.
  if (url.origin !== base.origin || /^\/[/\\]/.test(url.pathname)) return '/'
  return `${url.pathname}${url.search}${url.hash}`
}
