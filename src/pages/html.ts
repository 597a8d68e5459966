/**
 * HTML built from templates in which every interpolated value is escaped unless it is markup
 * built the same way. Escaping is the default, so a tenant name, a principal's display name or a
 * translated message can never become markup.
 *
 * @module
 */

/** Markup that is safe to insert as it is: made by {@link markup} or {@link trustedSvg}. */
export class SafeHtml {
  readonly #markup: string;
  constructor(markup: string, _brand: typeof BRAND) {
    this.#markup = markup;
  }
  toString(): string {
    return this.#markup;
  }
}

const BRAND = Symbol("SafeHtml");

/** What a template may interpolate: text (escaped), markup, lists of either, or nothing. */
export type HtmlValue =
  SafeHtml | string | number | false | null | undefined | readonly HtmlValue[];

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join("");
  if (value === false || value === null || value === undefined) return "";
  return escapeHtml(String(value));
}

/** A template tag: the literal parts are markup, every `${value}` is escaped (see {@link HtmlValue}). */
export function markup(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return new SafeHtml(out, BRAND);
}

/**
 * The SVG of a QR code as the `qrcode` package writes it (`<svg>` with `<path>` children and
 * presentation attributes only), or undefined for anything else. The SVG is inserted inline, so
 * it is checked against that exact shape instead of trusted: no script, no event handler, no
 * style attribute (which the page's CSP would refuse), no link.
 */
export function trustedSvg(svg: string): SafeHtml | undefined {
  const attribute = String.raw`\s+(?:xmlns="http://www\.w3\.org/2000/svg"|viewBox="[0-9. ]+"|width="[0-9.]+"|height="[0-9.]+"|shape-rendering="crispEdges"|fill="(?:#[0-9a-fA-F]{3,8}|none)"|stroke="(?:#[0-9a-fA-F]{3,8}|none)"|d="[MmHhVvZz0-9. -]*")`;
  const shape = new RegExp(
    String.raw`^<svg(?:${attribute})+>(?:<path(?:${attribute})+\s*/>)+</svg>$`,
  );
  const trimmed = svg.trim();
  return shape.test(trimmed) ? new SafeHtml(trimmed, BRAND) : undefined;
}
