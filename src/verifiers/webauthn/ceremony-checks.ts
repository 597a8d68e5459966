import { createHash, timingSafeEqual } from "node:crypto";
import { isoBase64URL, parseAuthenticatorData } from "@simplewebauthn/server/helpers";
import type {
  RelyingParty,
  UserVerificationPolicy,
  WebAuthnRejection,
  WebAuthnRejectionCode,
} from "../../app/authenticators/webauthn-protocol.js";

/** Authenticator data as parsed by the library. */
export type ParsedAuthData = ReturnType<typeof parseAuthenticatorData>;

/** A refusal with its code; thrown inside the verifier, returned at its edge. */
export class Refusal extends Error {
  readonly code: WebAuthnRejectionCode;
  constructor(code: WebAuthnRejectionCode, detail: string) {
    super(detail);
    this.code = code;
  }
  toRejection(): WebAuthnRejection {
    return { ok: false, code: this.code, detail: this.message };
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A base64url string field of `value`, or a refusal naming it. */
export function base64urlField(value: Record<string, unknown>, field: string): string {
  const text = value[field];
  if (typeof text !== "string" || text.length === 0 || !BASE64URL.test(text)) {
    throw new Refusal("webauthn.malformed_response", `${field} is not base64url.`);
  }
  return text;
}

/** The response as an object with `id`, `rawId`, `type` and an inner `response` object. */
export function credentialParts(response: unknown): {
  id: string;
  inner: Record<string, unknown>;
} {
  if (typeof response !== "object" || response === null) {
    throw new Refusal("webauthn.malformed_response", "The response is not an object.");
  }
  const outer = response as Record<string, unknown>;
  const id = base64urlField(outer, "id");
  if (outer.rawId !== id) {
    throw new Refusal("webauthn.malformed_response", "rawId differs from id.");
  }
  if (outer.type !== "public-key") {
    throw new Refusal("webauthn.malformed_response", "The credential type is not public-key.");
  }
  const inner = outer.response;
  if (typeof inner !== "object" || inner === null) {
    throw new Refusal("webauthn.malformed_response", "The response has no inner response.");
  }
  return { id, inner: inner as Record<string, unknown> };
}

interface ClientData {
  readonly type?: unknown;
  readonly challenge?: unknown;
  readonly origin?: unknown;
  readonly crossOrigin?: unknown;
  readonly topOrigin?: unknown;
}

/**
 * WebAuthn §7.1 steps 7–12 / §7.2 steps 10–15, checklist W2: the client data names this
 * ceremony, carries our challenge, comes from one of the exact origins, and not from a frame of
 * another origin (`crossOrigin: true` is refused; the tenant never embeds its ceremonies).
 */
export function checkClientData(
  clientDataJSON: string,
  expected: { type: "webauthn.create" | "webauthn.get"; challenge: string; rp: RelyingParty },
): void {
  let data: ClientData;
  try {
    data = JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")) as ClientData;
  } catch {
    throw new Refusal("webauthn.malformed_response", "clientDataJSON is not JSON.");
  }
  if (typeof data !== "object" || data === null) {
    throw new Refusal("webauthn.malformed_response", "clientDataJSON is not an object.");
  }
  if (data.type !== expected.type) {
    throw new Refusal("webauthn.wrong_type", `The client data type is not ${expected.type}.`);
  }
  if (typeof data.challenge !== "string" || !sameText(data.challenge, expected.challenge)) {
    throw new Refusal("webauthn.challenge_mismatch", "The response signs another challenge.");
  }
  if (typeof data.origin !== "string" || !expected.rp.origins.includes(data.origin)) {
    throw new Refusal("webauthn.origin_not_allowed", "The origin is not one of the tenant's.");
  }
  if (data.crossOrigin === true || data.topOrigin !== undefined) {
    throw new Refusal("webauthn.cross_origin", "The ceremony ran in a cross-origin frame.");
  }
  if (data.crossOrigin !== undefined && data.crossOrigin !== false) {
    throw new Refusal("webauthn.malformed_response", "crossOrigin is not a boolean.");
  }
}

/**
 * WebAuthn §7.1 steps 13–16 / §7.2 steps 15–18, checklist W3–W5: the RP id hash is ours, the
 * user was present, verified when the tenant requires it, and the backup flags are coherent.
 */
export function checkAuthenticatorData(
  authData: Uint8Array<ArrayBuffer>,
  expected: { rp: RelyingParty; userVerification: UserVerificationPolicy },
): ParsedAuthData {
  let parsed: ParsedAuthData;
  try {
    parsed = parseAuthenticatorData(authData);
  } catch {
    throw new Refusal("webauthn.malformed_response", "The authenticator data do not parse.");
  }
  const rpIdHash = createHash("sha256").update(expected.rp.id, "utf8").digest();
  if (parsed.rpIdHash.length !== 32 || !timingSafeEqual(parsed.rpIdHash, rpIdHash)) {
    throw new Refusal("webauthn.rp_id_mismatch", "The credential belongs to another RP id.");
  }
  if (!parsed.flags.up) {
    throw new Refusal("webauthn.user_not_present", "The user was not present (UP=0).");
  }
  if (expected.userVerification === "required" && !parsed.flags.uv) {
    throw new Refusal("webauthn.user_not_verified", "The user was not verified (UV=0).");
  }
  if (parsed.flags.bs && !parsed.flags.be) {
    throw new Refusal(
      "webauthn.backup_flags_invalid",
      "Backed up (BS=1) but not backup eligible (BE=0).",
    );
  }
  return parsed;
}

/** Decodes base64url, refusing anything that is not. */
export function bytesOf(text: string, field: string): Uint8Array<ArrayBuffer> {
  if (!isoBase64URL.isBase64URL(text)) {
    throw new Refusal("webauthn.malformed_response", `${field} is not base64url.`);
  }
  return isoBase64URL.toBuffer(text);
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Runs `check`, turning a {@link Refusal} into its rejection value. */
export async function refusing<T>(check: () => Promise<T>): Promise<T | WebAuthnRejection> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof Refusal) return error.toRejection();
    // The library throws plain errors for anything it refuses that the checks above let
    // through (a CBOR structure it cannot read, an attestation statement that is not empty…).
    // Its messages may quote the challenge, so none is passed on.
    return {
      ok: false,
      code: "webauthn.malformed_response",
      detail: "The response could not be read.",
    };
  }
}
