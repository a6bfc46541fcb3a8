// Tiny HTML rendering for the example app (escaped; no template engine needed).
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

export function page (title: string, body: string, user: { name?: unknown, sub: string } | null): string {
  const nav = user === null
    ? '<a href="/auth/login?returnTo=%2Fproduct%2F0" id="login">Log in</a>'
    : `Signed in as <strong id="who">${escapeHtml(user.name ?? user.sub)}</strong> · <a href="/product/0">Product</a> · <a href="/profile">Profile</a> · <form method="post" action="/auth/logout" style="display:inline"><button type="submit" id="logout">Log out</button></form>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · productpage</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}nav{margin-bottom:1.5rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style>
</head><body><nav><a href="/">Home</a> · ${nav}</nav><h1>${escapeHtml(title)}</h1>${body}</body></html>`
}
