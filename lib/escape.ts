const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** HTML-escapes `&`, `<`, `>`, `"` and `'`. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/**
 * Text an outside party wrote (an IdP's `error_description`), made safe to put
 * in a message: printable characters only, at most 200, HTML-escaped, so no
 * client that renders a message shows markup someone else wrote.
 */
export function foreignText (value: unknown): string {
  if (typeof value !== 'string') return ''
  // eslint-disable-next-line no-control-regex
  return escapeHtml(value.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200))
}
