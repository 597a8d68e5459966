/**
 * Where a sign-in may send the user back to (DESIGN invariant 10). A tenant registers absolute
 * URLs; a `return_to` is accepted only when, once parsed, it has the same origin as one of them
 * and a path at or below that one's path. Everything else (another host, a scheme-relative
 * `//evil`, user info, a backslash trick, a path that merely shares a prefix, an encoded
 * separator or a dot segment with a path parameter that climbs out once a server reads it) is
 * refused.
 *
 * @module
 */

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A host of letters, digits and hyphens between dots (IDNs arrive as punycode), or a bracketed
 * IPv6 address. WHATWG URL parsing keeps `;`, `,`, `*` and quotes in a host
 * (`https://cdn.example;sandbox/`): such a URL is no one's real address, and a page's
 * Content-Security-Policy that named its origin would end a directive, start another or match
 * every host.
 */
const PLAIN_HOST = /^(?:[a-z0-9-]+\.)*[a-z0-9-]+\.?$|^\[[0-9a-f:.]+\]$/;

/** Whether a parsed URL's `hostname` is a plain host name or IP address (see `PLAIN_HOST`). */
export function isPlainHost(hostname: string): boolean {
  return PLAIN_HOST.test(hostname);
}

/** Why a URL cannot be registered, or `undefined` when it can. */
export function returnUrlProblem(value: string): string | undefined {
  const url = parse(value);
  if (url === undefined) return "is not an absolute URL";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    return "must use https (http only on loopback)";
  }
  if (url.username !== "" || url.password !== "") return "must not carry user info";
  if (!isPlainHost(url.hostname)) return "must name a plain host (letters, digits, hyphens, dots)";
  if (url.hash !== "") return "must not carry a fragment";
  if (url.search !== "") return "must not carry a query";
  return undefined;
}

/** The registered URL `candidate` falls under, parsed, or `undefined` when none. */
export function matchReturnUrl(registered: readonly string[], candidate: string): URL | undefined {
  const url = parse(candidate);
  if (url === undefined || url.username !== "" || url.password !== "") return undefined;
  // A raw backslash, space or control character is read differently by browsers and parsers.
  if (/[\\\s]/.test(candidate) || hasControlCharacter(candidate)) return undefined;
  // URL parsing resolves dot segments, but not `..%2F` or `..%5C`: a server (or proxy) that
  // decodes them before routing would climb out of the registered path (`/cb/..%2Fadmin`). A
  // `%25` could hide the same after a second decoding. No registered page needs either.
  if (/%(?:2f|5c|25)/i.test(url.pathname)) return undefined;
  // Nor `..;/`: Tomcat and Jetty drop a segment's path parameter (`;…`) before resolving dots,
  // so `/cb/..;/admin` is `/admin` to them (the dots may be encoded, `%2e`).
  if (/\/(?:\.|%2e){1,2};/i.test(url.pathname)) return undefined;
  for (const entry of registered) {
    const base = parse(entry);
    if (base === undefined || base.origin !== url.origin) continue;
    if (url.pathname === base.pathname || url.pathname.startsWith(withSlash(base.pathname))) {
      return url;
    }
  }
  return undefined;
}

/** `url` with `name=value` added to its query. */
export function withQueryParameter(url: URL, name: string, value: string): string {
  const result = new URL(url.href);
  result.searchParams.set(name, value);
  return result.href;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

const withSlash = (path: string): string => (path.endsWith("/") ? path : `${path}/`);

function parse(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url : undefined;
  } catch {
    return undefined;
  }
}
