/**
 * The stylesheet of the hosted flow pages, served as `/flow-assets/flow.<hash>.css`. Kept as a string
 * module so that `tsc` builds it into `dist/` with the code: nothing to copy by hand. Calm and
 * plain: system fonts, one card, text contrast of at least 7:1 (controls 4.5:1), a visible focus
 * ring on everything that takes focus, one column that works from 320 px up.
 *
 * @module
 */
export const FLOW_CSS = `:root {
  color-scheme: light;
  --text: #1f2937;
  --muted: #4b5563;
  --line: #d1d5db;
  --field: #6b7280;
  --page: #f3f4f6;
  --card: #ffffff;
  --accent: #1d4ed8;
  --accent-dark: #1e3a8a;
  --focus: #1d4ed8;
  --error-bg: #fef2f2;
  --error-line: #b91c1c;
  --error-text: #7f1d1d;
  --info-bg: #eff6ff;
  --info-line: #1d4ed8;
  --info-text: #1e3a8a;
  --warn-bg: #fffbeb;
  --warn-line: #b45309;
  --warn-text: #78350f;
}

*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }

html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }

body {
  margin: 0;
  min-height: 100vh;
  padding: 2.5rem 1rem;
  background: var(--page);
  color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  font-size: 1rem;
  line-height: 1.55;
}

.card {
  max-width: 30rem;
  margin: 0 auto;
  padding: 2rem 2rem 1.5rem;
  background: var(--card);
  border: 1px solid var(--line);
  border-radius: 0.75rem;
  box-shadow: 0 1px 2px rgba(17, 24, 39, 0.06), 0 8px 24px rgba(17, 24, 39, 0.06);
}

.brand { display: flex; align-items: center; gap: 0.75rem; margin-bottom: 1.5rem; }
.logo { display: block; max-height: 2.5rem; max-width: 10rem; width: auto; height: auto; }
.tenant { margin: 0; font-weight: 600; color: var(--muted); letter-spacing: 0.01em; }

h1 { margin: 0 0 0.5rem; font-size: 1.5rem; line-height: 1.25; font-weight: 650; }
h2 { margin: 1.75rem 0 0.25rem; font-size: 1.125rem; line-height: 1.3; font-weight: 650; }
h3 { margin: 1.25rem 0 0.25rem; font-size: 1rem; line-height: 1.3; font-weight: 650; }
p { margin: 0 0 0.75rem; }
.lead { font-size: 1.0625rem; }
.muted, .hint, .small { color: var(--muted); }
.hint, .small { font-size: 0.875rem; }
.hint { margin: 0.35rem 0 0; }

a { color: var(--accent); text-underline-offset: 0.15em; }
a:hover { color: var(--accent-dark); }

.option { padding-top: 1.25rem; margin-top: 1.25rem; border-top: 1px solid var(--line); }
.option-single { border-top: 0; margin-top: 0.5rem; padding-top: 0; }
.option > h2, .option > h3 { margin-top: 0; }

form { margin: 0.5rem 0 0; }
.continue { margin-top: 1.75rem; }
.field { margin: 0 0 1rem; }
label { display: block; margin-bottom: 0.35rem; font-weight: 600; }

input[type="text"], select {
  display: block;
  width: 100%;
  padding: 0.6rem 0.75rem;
  border: 1px solid var(--field);
  border-radius: 0.5rem;
  background: #ffffff;
  color: var(--text);
  font: inherit;
}
input[name="code"] { font-size: 1.25rem; letter-spacing: 0.12em; font-variant-numeric: tabular-nums; }
input[aria-invalid="true"] { border-color: var(--error-line); border-width: 2px; }

.button {
  display: inline-block;
  padding: 0.65rem 1.25rem;
  border: 1px solid transparent;
  border-radius: 0.5rem;
  font: inherit;
  font-weight: 600;
  line-height: 1.3;
  text-align: center;
  text-decoration: none;
  cursor: pointer;
}
.primary { background: var(--accent); color: #ffffff; }
.primary:hover { background: var(--accent-dark); color: #ffffff; }
.secondary { background: #ffffff; color: var(--text); border-color: var(--field); }
.secondary:hover { background: var(--page); color: var(--text); }
.button:disabled { cursor: progress; opacity: 0.75; }

:focus-visible, a.button:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}
input:focus-visible, select:focus-visible { outline-offset: 0; border-color: var(--focus); }

.notice {
  margin: 1rem 0;
  padding: 0.75rem 1rem;
  border-inline-start: 4px solid;
  border-radius: 0.375rem;
}
.notice:empty { margin: 0; padding: 0; border: 0; }
.notice-error { background: var(--error-bg); border-color: var(--error-line); color: var(--error-text); }
.notice-info { background: var(--info-bg); border-color: var(--info-line); color: var(--info-text); }
.notice-warning { background: var(--warn-bg); border-color: var(--warn-line); color: var(--warn-text); }

.steps { margin: 1.25rem 0 0; padding-inline-start: 1.25rem; }
.steps > li { margin-bottom: 1.25rem; padding-inline-start: 0.25rem; }
.qr { width: 12rem; max-width: 100%; margin: 0.5rem 0 0.75rem; padding: 0.5rem; border: 1px solid var(--line); border-radius: 0.5rem; background: #ffffff; }
.qr svg { display: block; width: 100%; height: auto; }
.secret code {
  display: inline-block;
  padding: 0.4rem 0.6rem;
  border-radius: 0.375rem;
  background: var(--page);
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 1rem;
  letter-spacing: 0.06em;
  word-break: break-all;
}

.facts { margin: 1rem 0; padding: 0.25rem 1rem; border: 1px solid var(--line); border-radius: 0.5rem; }
.facts > div { display: grid; grid-template-columns: 6.5rem 1fr; gap: 1rem; padding: 0.5rem 0; }
.facts > div + div { border-top: 1px solid var(--line); }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; }

.reasons { margin: 0.25rem 0 0.75rem; padding-inline-start: 1.25rem; }
.reasons li { margin-bottom: 0.35rem; }
.reference code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }

.meta { margin-top: 2rem; padding-top: 1rem; border-top: 1px solid var(--line); color: var(--muted); font-size: 0.875rem; }
.meta p { margin: 0 0 0.25rem; }

@media (max-width: 30rem) {
  body { padding: 0; background: var(--card); }
  .card { border: 0; border-radius: 0; box-shadow: none; padding: 1.5rem 1.25rem; }
  .button { width: 100%; }
}

@media (prefers-reduced-motion: reduce) {
  * { transition: none !important; animation: none !important; }
}
`;
