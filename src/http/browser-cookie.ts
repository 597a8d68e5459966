import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * The browser cookie: one random value per browser, which hosted flows and direct federation
 * sign-ins bind themselves to (the store keeps only its SHA-256). HttpOnly; SameSite=Lax, so a
 * top-level GET from another site (an IdP's redirect) carries it and a cross-site POST (a SAML
 * answer) does not; `__Host-` and Secure when the public URL is https (RFC 6265bis, cookie name
 * prefixes: Secure, Path=/ and no Domain). A session cookie: it ends with the browser session.
 * Needs `@fastify/cookie` registered in the routes' scope.
 *
 * @module
 */

/** 32 random bytes, base64url without padding. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export interface BrowserCookie {
  /** `__Host-tmfa_browser` behind https, else `tmfa_browser`. */
  readonly name: string;
  /** The browser's cookie, if it sent a well-formed one. */
  read(request: FastifyRequest): string | undefined;
  /** The browser's cookie; a browser without a (well-formed) one is given a new one. */
  ensure(request: FastifyRequest, reply: FastifyReply): string;
}

/** The browser cookie of a server whose public URL is `publicUrl`. */
export function browserCookie(publicUrl: string): BrowserCookie {
  const secure = new URL(publicUrl).protocol === "https:";
  const name = secure ? "__Host-tmfa_browser" : "tmfa_browser";
  const read = (request: FastifyRequest): string | undefined => {
    const value = request.cookies[name];
    return value !== undefined && COOKIE_VALUE.test(value) ? value : undefined;
  };
  return {
    name,
    read,
    ensure(request, reply) {
      const known = read(request);
      if (known !== undefined) return known;
      const value = randomBytes(32).toString("base64url");
      void reply.setCookie(name, value, { httpOnly: true, path: "/", sameSite: "lax", secure });
      return value;
    },
  };
}
