/**
 * The few HTML helpers the demo's two small servers share: escaping, a page frame and one
 * stylesheet. Pages are built from strings on purpose: the demo must read as plainly as a
 * newcomer's first platform would, with nothing to learn but HTML.
 *
 * @module
 */

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `value` safe inside an element or a quoted attribute. */
export function escapeHtml(value: string | number | boolean): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Where every demo page finds its stylesheet (served by each demo server itself). */
export const STYLESHEET_PATH = "/demo-assets/demo.css";

/**
 * The stylesheet: readable, calm, no framework. Served as a file so that the pages' Content
 * Security Policy needs no `'unsafe-inline'`.
 */
export const STYLESHEET = `
:root { color-scheme: light; --ink: #1d2433; --muted: #4a5468; --line: #d5dae3; --accent: #1f5fbf; --bad: #a3261b; --good: #1d6b3a; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f5f7fa; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 0.75rem 1.5rem; display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
header strong { font-size: 1.1rem; }
header span { color: var(--muted); font-size: 0.9rem; }
main { max-width: 52rem; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
p { margin: 0.5rem 0; }
a { color: var(--accent); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 0 0 1rem; }
.people { list-style: none; padding: 0; margin: 1.25rem 0 0; display: grid; gap: 0.75rem; }
.people li > div { flex: 1 1 22rem; }
.people li { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem 1rem; display: flex; justify-content: space-between; align-items: center; gap: 1rem; flex-wrap: wrap; }
.people .who { font-weight: 600; }
.people .what { color: var(--muted); font-size: 0.95rem; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
input[type=text], input[type=password] { width: 100%; max-width: 22rem; padding: 0.5rem 0.6rem; border: 1px solid #8a94a6; border-radius: 6px; font: inherit; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; padding: 0.5rem 1rem 0.75rem; }
legend { font-weight: 600; padding: 0 0.25rem; }
.choice { display: flex; gap: 0.5rem; align-items: baseline; font-weight: 400; margin: 0.4rem 0; }
button, .button { display: inline-block; background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 0.5rem 1rem; font: inherit; font-weight: 600; cursor: pointer; text-decoration: none; }
button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
.actions { display: flex; gap: 0.75rem; flex-wrap: wrap; margin-top: 1rem; }
.notice { border-left: 4px solid var(--accent); background: #eef3fb; padding: 0.6rem 0.9rem; border-radius: 4px; margin: 0.75rem 0; }
.notice.error { border-color: var(--bad); background: #fbeeed; }
.notice.ok { border-color: var(--good); background: #edf7f0; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.95rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); }
th { width: 14rem; color: var(--muted); font-weight: 600; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
pre { white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem; }
.muted { color: var(--muted); }
`;

/** A complete page: `body` is trusted HTML built with {@link escapeHtml}. */
export function renderPage(page: { title: string; site: string; tagline: string; body: string }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · ${escapeHtml(page.site)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header><strong>${escapeHtml(page.site)}</strong><span>${escapeHtml(page.tagline)}</span></header>
<main>
${page.body}
</main>
</body>
</html>
`;
}

/**
 * The Content Security Policy of a demo page: no script at all, styles from the page's own
 * origin, and forms that may lead to `formTargets` (Chrome applies `form-action` to the redirects
 * that follow a form post, so the origins a post redirects to must be listed).
 */
export function contentSecurityPolicy(formTargets: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    `form-action 'self'${formTargets.map((origin) => ` ${origin}`).join("")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}
