import { base64url } from "jose";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../app/json-depth.js";
import type { KeyRequest } from "./jwks.js";
import { accept, describeUntrusted, isPlainObject, reject, type OidcOutcome } from "./rejection.js";

/** ID tokens are a few kilobytes; a larger one is refused before any parsing. */
const MAX_ID_TOKEN_LENGTH = 16 * 1024;

/**
 * Header parameters that carry a key or say where to fetch one (RFC 7515 §4.1.2–4.1.6). The
 * keys that verify an ID token come only from the issuer's discovered JWKS (OIDC Core §10.1);
 * a token that brings its own is an attack, so it is refused without looking at the key.
 */
const FORBIDDEN_HEADERS = ["jwk", "jku", "x5u", "x5c"] as const;

/**
 * The form key ids take in practice (base64url thumbprints, hex, UUIDs, short names). Anything
 * else — a path (`../`), quotes, spaces, SQL — names no key any IdP publishes, and is refused
 * without a lookup, so that junk can never make this server refetch a key set.
 */
const KID_FORM = /^[A-Za-z0-9_\-.+/=:~]{1,128}$/;

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * The checks made on an ID token before any key is looked up: a compact JWS of three non-empty
 * segments, an algorithm from the registration's allow-list (never trusted from the header), no
 * embedded keys or key URLs, a type that is not an access or logout token, and a sane key id.
 */
export function readIdTokenHeader(
  token: string,
  allowed: ReadonlySet<string>,
): OidcOutcome<KeyRequest> {
  if (token.length > MAX_ID_TOKEN_LENGTH) {
    return reject(
      "oidc.id_token_malformed",
      `ID token longer than ${MAX_ID_TOKEN_LENGTH} characters`,
    );
  }
  const segments = token.split(".");
  if (segments.length === 5) {
    return reject("oidc.id_token_malformed", "encrypted (JWE) ID tokens are not supported");
  }
  if (segments.length !== 3) {
    return reject("oidc.id_token_malformed", `ID token has ${segments.length} segments, not 3`);
  }
  // An empty third segment is how `alg: none` tokens travel: no signature, no ID token.
  if (!segments.every((segment) => SEGMENT.test(segment))) {
    return reject("oidc.id_token_malformed", "ID token has an empty or non-base64url segment");
  }
  const header = decodeSegment(segments[0] ?? "");
  if (!isPlainObject(header)) {
    return reject("oidc.id_token_malformed", "ID token header is not a JSON object");
  }
  // A header member nested thousands deep (16 KiB hold some 6,000 levels) would overflow the
  // stack of the refusal that quotes it.
  if (nestsDeeperThan(header, MAX_JSON_DEPTH)) {
    return reject(
      "oidc.id_token_malformed",
      `ID token header nests deeper than ${String(MAX_JSON_DEPTH)} levels`,
    );
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== "string")
    return reject("oidc.id_token_malformed", "ID token header has no alg");
  if (!allowed.has(alg)) {
    return reject(
      "oidc.algorithm_not_allowed",
      `alg ${describeUntrusted(alg)} is not in this IdP's allow-list`,
    );
  }
  const forbidden = FORBIDDEN_HEADERS.filter((name) => Object.hasOwn(header, name));
  if (forbidden.length > 0) {
    return reject("oidc.header_forbidden", `ID token header carries ${forbidden.join(", ")}`);
  }
  // RFC 7515 §4.1.11: extensions this verifier does not understand must be refused; it knows none.
  if (Object.hasOwn(header, "crit")) {
    return reject("oidc.id_token_malformed", "ID token header has critical extensions");
  }
  if (Object.hasOwn(header, "cty")) {
    return reject("oidc.id_token_malformed", "nested JWTs are not ID tokens");
  }
  // RFC 8725 §3.11: explicit types keep other JWTs out. An ID token's is absent or "JWT"
  // (RFC 7519 §5.1); `at+jwt` (RFC 9068), `logout+jwt` and the rest are refused.
  if (typ !== undefined && !isJwtType(typ)) {
    return reject("oidc.token_type", `typ ${describeUntrusted(typ)} is not an ID token's`);
  }
  if (kid === undefined) return accept({ alg });
  if (typeof kid !== "string" || !KID_FORM.test(kid) || kid.includes("..")) {
    return reject("oidc.key_unknown", "kid has a form no key id takes; no key was looked up");
  }
  return accept({ alg, kid });
}

function isJwtType(typ: unknown): boolean {
  return typeof typ === "string" && /^(application\/)?jwt$/i.test(typ);
}

function decodeSegment(segment: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64url.decode(segment)));
  } catch {
    return undefined;
  }
}

/** The payload of a token whose signature has been verified, parsed. */
export function parsePayload(payload: Uint8Array): Record<string, unknown> | undefined {
  try {
    const claims: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    return isPlainObject(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}
