/**
 * The browser binding cookie (`tmfa_browser`, `__Host-tmfa_browser` behind https) as the tests
 * carry it: read from the `Set-Cookie` of the response that set it, sent back as a `Cookie`
 * header value, as a browser does.
 */
import type { LightMyRequestResponse } from "fastify";

/** Matches the browser cookie's name, with or without the `__Host-` prefix. */
const NAME = /^(__Host-)?tmfa_browser$/;

/** A browser cookie of `name` (`tmfa_browser` by default) with a made-up, well-formed value. */
export function browserCookie(fill: string, name = "tmfa_browser"): string {
  return `${name}=${fill.repeat(43).slice(0, 43)}`;
}

/** The `Cookie` header value for the browser cookie `response` set, or undefined when it set none. */
export function setBrowserCookie(response: LightMyRequestResponse): string | undefined {
  const raw = response.headers["set-cookie"];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const line of lines) {
    const [pair = ""] = line.split(";");
    const separator = pair.indexOf("=");
    const name = pair.slice(0, separator).trim();
    if (NAME.test(name)) return `${name}=${pair.slice(separator + 1).trim()}`;
  }
  return undefined;
}

/** The browser cookie `response` set; fails when it set none. */
export function cookieOf(response: LightMyRequestResponse): string {
  const cookie = setBrowserCookie(response);
  if (cookie === undefined) {
    throw new Error(`no browser cookie set (status ${String(response.statusCode)})`);
  }
  return cookie;
}

/** The attributes of the browser cookie `response` set, lower-cased, name=value first. */
export function browserCookieAttributes(response: LightMyRequestResponse): string[] {
  const raw = response.headers["set-cookie"];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const line = lines.find((l) => NAME.test(l.split("=")[0]?.trim() ?? ""));
  return line === undefined ? [] : line.split(";").map((part) => part.trim());
}
