/**
 * The Content Security Policy of a hosted flow page. Nothing inline runs or styles the page:
 * scripts, styles and connections come from this server only, images also from the tenant's
 * logo origin, and forms may post here and to the origins the flow names (its IdPs, with the
 * authorization endpoint an OIDC IdP's discovery names; the platform's return URL: Chrome
 * applies `form-action` to the redirects that follow a post).
 *
 * @module
 */

import { isPlainHost } from "../app/federation/return-urls.js";

/** The origin of an absolute http(s) URL whose host a policy can name, or undefined. */
export function originOf(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;
  // A host a policy cannot name safely (`;`, `,`, `*`, quotes) is no source at all.
  if (!isPlainHost(parsed.hostname)) return undefined;
  return parsed.origin;
}

/** What a page's policy depends on. */
export interface PagePolicyInput {
  /** The tenant's logo, if the page shows it. */
  readonly logoUrl?: string | undefined;
  /** Origins that the page's forms may lead to. */
  readonly formTargets?: readonly string[];
}

/**
 * The `Content-Security-Policy` header value for a page. Sources come from URLs parsed into
 * origins, so no value taken from a tenant's settings can add a directive or a keyword.
 */
export function contentSecurityPolicy(input: PagePolicyInput = {}): string {
  const logo = input.logoUrl === undefined ? undefined : originOf(input.logoUrl);
  const targets = [
    ...new Set((input.formTargets ?? []).map(originOf).filter((o) => o !== undefined)),
  ];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    ["img-src 'self' data:", logo].filter(Boolean).join(" "),
    "connect-src 'self'",
    ["form-action 'self'", ...targets].join(" "),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}
