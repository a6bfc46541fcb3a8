// A small browser for tests: Node's fetch with manual redirects and a
// tough-cookie jar. It follows redirects one hop at a time so a test can see
// (and stop at) every URL, and it can fill and submit the HTML forms of
// oidc-provider's devInteractions and RP-initiated logout pages.
import { CookieJar } from 'tough-cookie'

export interface Hop {
  /** The URL requested. */
  url: string
  status: number
  /** Absolute redirect target, or null when the response is no redirect. */
  location: string | null
}

export interface BrowserResponse {
  status: number
  headers: Headers
  /** The URL of the last request made. */
  url: string
  body: string
  /** Every request made, in order, the last one included. */
  hops: Hop[]
  /** Set when `stopAt` stopped a redirect chain: the URL not requested. */
  stoppedAt?: string
}

export interface FollowOptions {
  /** Checked for each redirect target; true returns without requesting it. */
  stopAt?: (url: URL) => boolean
  /** Default 20. */
  maxHops?: number
}

/** Wrap a value to POST it as JSON: `browser.post(url, json({ a: 1 }))`. */
export class JsonBody {
  constructor (readonly value: unknown) {}
}

export function json (value: unknown): JsonBody {
  return new JsonBody(value)
}

export type PostBody = URLSearchParams | Record<string, string> | JsonBody

const REDIRECTS = new Set([301, 302, 303, 307, 308])

export class Browser {
  readonly jar = new CookieJar()

  async get (url: string | URL, headers?: Record<string, string>): Promise<BrowserResponse> {
    return await this.request('GET', url, undefined, headers)
  }

  async post (url: string | URL, body: PostBody, headers?: Record<string, string>): Promise<BrowserResponse> {
    return await this.request('POST', url, body, headers)
  }

  /**
   * GET url, then follow redirects (always with GET, like a browser after a
   * 303) until a response is no redirect, or `stopAt` is true for the next
   * URL. Throws after maxHops requests.
   */
  async follow (url: string | URL, options: FollowOptions = {}): Promise<BrowserResponse> {
    return await this.continue(await this.get(url), options)
  }

  /** Follow the redirects of a response already received (e.g. a POST's). */
  async continue (response: BrowserResponse, options: FollowOptions = {}): Promise<BrowserResponse> {
    const maxHops = options.maxHops ?? 20
    const hops = [...response.hops]
    let current = response
    while (true) {
      const next = hops[hops.length - 1]?.location
      if (next == null) return { ...current, hops }
      if (options.stopAt?.(new URL(next)) === true) return { ...current, hops, stoppedAt: next }
      if (hops.length >= maxHops) throw new Error(`more than ${maxHops} hops: ${hops.map((h) => h.url).join(' -> ')}`)
      current = await this.get(next)
      hops.push(...current.hops)
    }
  }

  async request (method: string, url: string | URL, body?: PostBody, headers: Record<string, string> = {}): Promise<BrowserResponse> {
    const target = new URL(url)
    const requestHeaders = new Headers(headers)
    const cookie = await this.jar.getCookieString(target.href)
    if (cookie !== '' && !requestHeaders.has('cookie')) requestHeaders.set('cookie', cookie)

    let payload: string | undefined
    if (body instanceof JsonBody) {
      payload = JSON.stringify(body.value)
      if (!requestHeaders.has('content-type')) requestHeaders.set('content-type', 'application/json')
    } else if (body !== undefined) {
      payload = new URLSearchParams(body).toString()
      if (!requestHeaders.has('content-type')) requestHeaders.set('content-type', 'application/x-www-form-urlencoded')
    }

    const res = await fetch(target, { method, headers: requestHeaders, body: payload, redirect: 'manual' })
    for (const setCookie of res.headers.getSetCookie()) {
      // Like a browser, drop what it would refuse (e.g. Secure over http).
      await this.jar.setCookie(setCookie, target.href, { ignoreError: true })
    }
    const text = await res.text()
    const locationHeader = res.headers.get('location')
    const location = REDIRECTS.has(res.status) && locationHeader !== null
      ? new URL(locationHeader, target).href
      : null
    return {
      status: res.status,
      headers: res.headers,
      url: target.href,
      body: text,
      hops: [{ url: target.href, status: res.status, location }]
    }
  }

  /** The cookies this browser would send to url, as name -> value. */
  async cookies (url: string | URL): Promise<Record<string, string>> {
    const cookies = await this.jar.getCookies(new URL(url).href)
    return Object.fromEntries(cookies.map((c) => [c.key, c.value]))
  }
}

// ---------------------------------------------------------------- HTML forms

export interface HtmlForm {
  id: string | undefined
  method: string
  /** Absolute. */
  action: string
  /** Named inputs with a value (hidden ones included), in order. */
  fields: Record<string, string>
  /** name -> value of the named submit buttons, inside the form or pointing at it with form="id". */
  buttons: Array<{ name: string, value: string }>
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeEntities (value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, code: string) => {
    if (code[0] === '#') {
      const n = code[1] === 'x' || code[1] === 'X' ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10)
      return String.fromCodePoint(n)
    }
    return ENTITIES[code.toLowerCase()] ?? whole
  })
}

function attributes (tag: string): Record<string, string> {
  const attrs: Record<string, string> = {}
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g
  // Skip the tag name itself.
  const inner = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '')
  for (const m of inner.matchAll(re)) {
    attrs[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return attrs
}

/** Every <form> of an HTML page, with its inputs and submit buttons. */
export function parseForms (html: string, baseUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = []
  const allButtons = [...html.matchAll(/<button\b[^>]*>/gi)].map((m) => ({ index: m.index, attrs: attributes(m[0]) }))
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const formTag = /^<form\b[^>]*>/i.exec(m[0])![0]
    const attrs = attributes(formTag)
    const start = m.index
    const end = start + m[0].length
    const fields: Record<string, string> = {}
    for (const input of m[1]!.matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(input[0])
      const type = (a['type'] ?? 'text').toLowerCase()
      if (a['name'] === undefined || type === 'submit' || type === 'button') continue
      if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue
      fields[a['name']] = a['value'] ?? ''
    }
    const buttons = allButtons
      .filter((b) => b.attrs['name'] !== undefined && (b.attrs['type'] ?? 'submit').toLowerCase() === 'submit')
      .filter((b) => b.attrs['form'] !== undefined
        ? b.attrs['form'] === attrs['id']
        : b.index > start && b.index < end)
      .map((b) => ({ name: b.attrs['name']!, value: b.attrs['value'] ?? '' }))
    forms.push({
      id: attrs['id'],
      method: (attrs['method'] ?? 'get').toUpperCase(),
      action: new URL(attrs['action'] ?? '', baseUrl).href,
      fields,
      buttons
    })
  }
  return forms
}

/**
 * Submit a form (POST with its fields plus `extra`) and follow the redirects
 * of the answer. The returned hops start with the POST.
 */
export async function submitForm (
  browser: Browser,
  form: HtmlForm,
  extra: Record<string, string> = {},
  options: FollowOptions = {}
): Promise<BrowserResponse> {
  const fields = { ...form.fields, ...extra }
  const response = form.method === 'POST'
    ? await browser.post(form.action, fields)
    : await browser.get(`${form.action.split('?')[0]}?${new URLSearchParams(fields).toString()}`)
  return await browser.continue(response, options)
}

// ------------------------------------------------- oidc-provider interactions

export interface LoginOptions extends FollowOptions {
  /** devInteractions accepts any login name; it becomes the `sub`. Default 'demo'. */
  login?: string
  /** Ignored by devInteractions, sent anyway. Default 'demo'. */
  password?: string
}

/** The devInteractions form of a page ('login' or 'consent'), if any. */
function interactionForm (page: BrowserResponse): HtmlForm | undefined {
  if (page.status !== 200) return undefined
  return parseForms(page.body, page.url)
    .find((f) => f.method === 'POST' && (f.fields['prompt'] === 'login' || f.fields['prompt'] === 'consent'))
}

/**
 * Start at startUrl (an app's login route, or an authorization URL), follow
 * to the provider's devInteractions pages, sign in and consent, and follow
 * back through the app's callback to the final page. Pages the provider
 * skips (already signed in, consent already given) are skipped here too.
 * Returns the final response and every hop, POSTs included.
 */
export async function loginAtProvider (
  browser: Browser,
  startUrl: string | URL,
  options: LoginOptions = {}
): Promise<BrowserResponse> {
  const { login = 'demo', password = 'demo', ...follow } = options
  let page = await browser.follow(startUrl, follow)
  const hops = [...page.hops]
  // Login and consent at most; a third form means something loops.
  for (let step = 0; step < 3 && page.stoppedAt === undefined; step++) {
    const form = interactionForm(page)
    if (form === undefined) break
    const extra: Record<string, string> = form.fields['prompt'] === 'login' ? { login, password } : {}
    const next = await submitForm(browser, form, extra, follow)
    hops.push(...next.hops)
    page = next
  }
  return { ...page, hops }
}

/**
 * Go to the provider's end_session URL, answer "Yes, sign me out" on its
 * confirmation page (or post the auto-submit form it serves when there is
 * no session) and follow to the post-logout redirect. Returns the final
 * response and every hop.
 */
export async function logoutAtProvider (
  browser: Browser,
  endSessionUrl: string | URL,
  options: FollowOptions = {}
): Promise<BrowserResponse> {
  const page = await browser.follow(endSessionUrl, options)
  if (page.stoppedAt !== undefined) return page
  const form = parseForms(page.body, page.url).find((f) => 'xsrf' in f.fields)
  if (form === undefined) {
    throw new Error(`no logout form at ${page.url} (status ${page.status}): ${page.body.slice(0, 500)}`)
  }
  const yes = form.buttons.find((b) => b.name === 'logout')
  const next = await submitForm(browser, form, { logout: yes?.value ?? 'yes' }, options)
  return { ...next, hops: [...page.hops, ...next.hops] }
}
