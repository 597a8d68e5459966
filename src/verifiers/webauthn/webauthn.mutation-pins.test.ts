// Threat: a check of the WebAuthn verifier that could be deleted or weakened without any other
// test noticing (a mutation survey of src/verifiers/webauthn). Each test pins one such check,
// with a ceremony made by the software authenticator and one thing wrong in it.
import { describe, expect, it } from "vitest";
import type {
  RelyingParty,
  StoredCredential,
  WebAuthnRejectionCode,
} from "../../app/authenticators/webauthn-protocol.js";
import { attestationRootOf } from "./attestation-trust.js";
import { createWebAuthnProtocol, parseAttestationRoots } from "./index.js";
import { AttestationVendor } from "./test-support/attestation-ca.js";
import { SoftAuthenticator, type Knobs } from "./test-support/soft-authenticator.js";

const protocol = createWebAuthnProtocol();
const rp: RelyingParty = { id: "mfa.test", name: "Acme", origins: ["https://mfa.test"] };
const challenge = () =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

async function register(authenticator: SoftAuthenticator, knobs: Knobs = {}) {
  const c = challenge();
  const options = await protocol.registrationOptions({
    rp,
    user: { id: "acme/alice", name: "alice", displayName: "Alice" },
    challenge: c,
    excludeCredentials: [],
    userVerification: "required",
    attestation: "none",
    timeoutMs: 60_000,
  });
  return protocol.verifyRegistration({
    response: authenticator.register(options, knobs),
    challenge: c,
    rp,
    userVerification: "required",
    aaguids: [],
    at: new Date("2026-06-01T12:00:00Z"),
  });
}

/** A registered credential and a function that asserts with it, `edit` applied to the response. */
async function enrolled(options: { initialSignCount?: number } = {}) {
  const authenticator = new SoftAuthenticator({ origin: "https://mfa.test", ...options });
  const registration = await register(authenticator);
  if (!registration.ok) throw new Error(`registration failed: ${registration.code}`);
  const stored: StoredCredential = { ...registration.credential, transports: [] };
  const assert = (
    knobs: Knobs = {},
    edit: (response: Record<string, unknown>) => Record<string, unknown> = (r) => r,
    credential: StoredCredential = stored,
  ) => {
    const c = challenge();
    const response = authenticator.authenticate(
      { challenge: c, rpId: rp.id, allowCredentials: [] },
      knobs,
    );
    return protocol.verifyAuthentication({
      response: edit(response),
      challenge: c,
      rp,
      userVerification: "required",
      credential,
    });
  };
  return { authenticator, stored, assert };
}

/** The response with fields of its inner `response` replaced. */
const withInner =
  (fields: Record<string, unknown>) =>
  (response: Record<string, unknown>): Record<string, unknown> => ({
    ...response,
    response: { ...(response.response as Record<string, unknown>), ...fields },
  });

const refusedWith = (code: WebAuthnRejectionCode) => ({ ok: false, code });

describe("the assertion's encoded fields", () => {
  it("refuses an empty signature as malformed, before the library verifies anything", async () => {
    const { assert } = await enrolled();
    expect(await assert({}, withInner({ signature: "" }))).toMatchObject(
      refusedWith("webauthn.malformed_response"),
    );
  });

  it("refuses client data in standard base64 (with padding) as malformed, though it decodes", async () => {
    const { authenticator, stored } = await enrolled();
    // 31 bytes of challenge make client data whose base64 ends in padding.
    const c = Buffer.from(crypto.getRandomValues(new Uint8Array(31))).toString("base64url");
    const response = authenticator.authenticate({
      challenge: c,
      rpId: rp.id,
      allowCredentials: [],
    });
    const inner = response.response as Record<string, unknown>;
    const standard = Buffer.from(inner.clientDataJSON as string, "base64url").toString("base64");
    expect(standard).toMatch(/=$/);
    const result = await protocol.verifyAuthentication({
      response: withInner({ clientDataJSON: standard })(response),
      challenge: c,
      rp,
      userVerification: "required",
      credential: stored,
    });
    expect(result).toMatchObject(refusedWith("webauthn.malformed_response"));
  });

  it("refuses client data that is a JSON number as malformed, not as a wrong type", async () => {
    const { assert } = await enrolled();
    expect(await assert({ tamperClientData: () => "5" })).toMatchObject(
      refusedWith("webauthn.malformed_response"),
    );
  });
});

describe("the client data (WebAuthn §7.2 steps 10–15)", () => {
  it("refuses a topOrigin, even with crossOrigin false: the ceremony ran in another site's frame", async () => {
    const { assert } = await enrolled();
    expect(await assert({ topOrigin: "https://evil.test" })).toMatchObject(
      refusedWith("webauthn.cross_origin"),
    );
  });

  it.each([
    ['the string "true"', "true"],
    ["the number 1", 1],
  ])("refuses crossOrigin as %s: not a boolean", async (_name, value) => {
    const { assert } = await enrolled();
    const tamperClientData = (json: string) =>
      JSON.stringify({ ...(JSON.parse(json) as object), crossOrigin: value });
    expect(await assert({ tamperClientData })).toMatchObject(
      refusedWith("webauthn.malformed_response"),
    );
  });

  it("refuses another challenge of the same length as a challenge mismatch", async () => {
    const { assert } = await enrolled();
    expect(await assert({ challenge: challenge() })).toMatchObject(
      refusedWith("webauthn.challenge_mismatch"),
    );
  });
});

describe("the authenticator data (WebAuthn §7.2 steps 15–18)", () => {
  it.each<[string, Knobs, WebAuthnRejectionCode]>([
    ["another RP id's hash", { rpId: "evil.test" }, "webauthn.rp_id_mismatch"],
    ["UP=0", { up: false }, "webauthn.user_not_present"],
    ["UV=0 when the tenant requires it", { uv: false }, "webauthn.user_not_verified"],
    ["BS=1 with BE=0", { bs: true, be: false }, "webauthn.backup_flags_invalid"],
    [
      "BE=1 on a credential registered with BE=0",
      { be: true },
      "webauthn.backup_eligibility_changed",
    ],
  ])("refuses %s", async (_name, knobs, code) => {
    const { assert } = await enrolled();
    expect(await assert(knobs)).toMatchObject(refusedWith(code));
  });

  it("refuses an assertion by another credential than the one it is checked against", async () => {
    const { assert, stored } = await enrolled();
    const other = await enrolled();
    expect(await assert({}, (r) => r, { ...other.stored, transports: [] })).toMatchObject(
      refusedWith("webauthn.credential_unknown"),
    );
    expect(stored.credentialId).not.toBe(other.stored.credentialId);
  });

  it("refuses a signature by another key as a bad signature", async () => {
    const { assert } = await enrolled();
    expect(await assert({ bogusSignature: true })).toMatchObject(
      refusedWith("webauthn.bad_signature"),
    );
  });
});

describe("what a verified assertion reports", () => {
  it("reports UV=0 as not verified when the tenant only prefers verification", async () => {
    const authenticator = new SoftAuthenticator({ origin: "https://mfa.test" });
    const registration = await register(authenticator);
    if (!registration.ok) throw new Error("registration failed");
    const c = challenge();
    const result = await protocol.verifyAuthentication({
      response: authenticator.authenticate(
        { challenge: c, rpId: rp.id, allowCredentials: [] },
        { uv: false },
      ),
      challenge: c,
      rp,
      userVerification: "preferred",
      credential: { ...registration.credential, transports: [] },
    });
    expect(result).toMatchObject({ ok: true, userVerified: false });
  });

  it("reports a counter that went backwards as a clone signal, with the counter received", async () => {
    const { assert, stored } = await enrolled({ initialSignCount: 10 });
    const result = await assert({ signCount: 7 }, (r) => r, { ...stored, signCount: 10 });
    expect(result).toMatchObject({ ok: true, cloneSignal: true, signCount: 7 });
  });

  it("reports the backup state the authenticator signed", async () => {
    const authenticator = new SoftAuthenticator({
      origin: "https://mfa.test",
      backupEligible: true,
      backupState: true,
    });
    const registration = await register(authenticator);
    if (!registration.ok) throw new Error("registration failed");
    const c = challenge();
    const result = await protocol.verifyAuthentication({
      response: authenticator.authenticate({ challenge: c, rpId: rp.id, allowCredentials: [] }),
      challenge: c,
      rp,
      userVerification: "required",
      credential: { ...registration.credential, transports: [] },
    });
    expect(result).toMatchObject({ ok: true, backupEligible: true, backupState: true });
  });
});

describe("registration (WebAuthn §7.1)", () => {
  it("refuses a credential id of 1024 bytes and accepts one of 1023", async () => {
    const authenticator = new SoftAuthenticator({ origin: "https://mfa.test" });
    const id = (bytes: number) => Buffer.alloc(bytes, 7).toString("base64url");
    expect(await register(authenticator, { credentialId: id(1024) })).toMatchObject(
      refusedWith("webauthn.malformed_response"),
    );
    expect(await register(authenticator, { credentialId: id(1023) })).toMatchObject({ ok: true });
  });

  it("refuses a key whose algorithm was not requested (ES384) with its own code", async () => {
    const authenticator = new SoftAuthenticator({ origin: "https://mfa.test", algorithm: -35 });
    expect(await register(authenticator)).toMatchObject(
      refusedWith("webauthn.algorithm_not_allowed"),
    );
  });

  it("reports UV=0 at registration as not verified when the tenant only prefers verification", async () => {
    const authenticator = new SoftAuthenticator({ origin: "https://mfa.test" });
    const c = challenge();
    const options = await protocol.registrationOptions({
      rp,
      user: { id: "acme/alice", name: "alice", displayName: "Alice" },
      challenge: c,
      excludeCredentials: [],
      userVerification: "preferred",
      attestation: "none",
      timeoutMs: 60_000,
    });
    const result = await protocol.verifyRegistration({
      response: authenticator.register(options, { uv: false }),
      challenge: c,
      rp,
      userVerification: "preferred",
      aaguids: [],
      at: new Date("2026-06-01T12:00:00Z"),
    });
    expect(result).toMatchObject({ ok: true, credential: { userVerified: false } });
  });

  it("reports the backup eligibility the authenticator signed at registration", async () => {
    const authenticator = new SoftAuthenticator({
      origin: "https://mfa.test",
      backupEligible: true,
    });
    expect(await register(authenticator)).toMatchObject({
      ok: true,
      credential: { backupEligible: true, backupState: false },
    });
  });
});

describe("attestation chains (attestation-trust.ts)", () => {
  it("follows at most five certificates to a root", async () => {
    const vendor = await AttestationVendor.create("Keys Inc");
    const [root] = parseAttestationRoots(vendor.rootPem);
    if (root === undefined) throw new Error("no root");
    const { x5c } = await vendor.batch({
      aaguid: SoftAuthenticator.randomAaguid(),
      intermediate: true,
    });
    // The self-signed root issues itself, so repeating it keeps every link of the chain valid.
    const rootDer = new Uint8Array(root.raw);
    const at = new Date("2026-06-01T12:00:00Z");
    expect(attestationRootOf([...x5c, rootDer, rootDer, rootDer], [root], at)).toBe(root);
    expect(
      attestationRootOf([...x5c, rootDer, rootDer, rootDer, rootDer], [root], at),
    ).toBeUndefined();
  });

  it("refuses a chain whose leaf was not issued by the next certificate, though that one leads to the root", async () => {
    const vendor = await AttestationVendor.create("Keys Inc");
    const stranger = await AttestationVendor.create("Keys Inc");
    const [root] = parseAttestationRoots(vendor.rootPem);
    if (root === undefined) throw new Error("no root");
    const aaguid = SoftAuthenticator.randomAaguid();
    const genuine = await vendor.batch({ aaguid, intermediate: true });
    const forged = await stranger.batch({ aaguid, intermediate: true });
    const [forgedLeaf] = forged.x5c;
    const [, genuineIntermediate] = genuine.x5c;
    if (forgedLeaf === undefined || genuineIntermediate === undefined) throw new Error("no chain");
    const at = new Date("2026-06-01T12:00:00Z");
    expect(attestationRootOf(genuine.x5c, [root], at)).toBe(root);
    expect(attestationRootOf([forgedLeaf, genuineIntermediate], [root], at)).toBeUndefined();
  });

  it("takes a certificate as valid from its notBefore, inclusive", async () => {
    const vendor = await AttestationVendor.create("Keys Inc");
    const [root] = parseAttestationRoots(vendor.rootPem);
    if (root === undefined) throw new Error("no root");
    const notBefore = new Date("2026-06-01T12:00:00Z");
    const { x5c } = await vendor.batch({
      aaguid: SoftAuthenticator.randomAaguid(),
      validity: { notBefore, notAfter: new Date("2027-06-01T12:00:00Z") },
    });
    expect(attestationRootOf(x5c, [root], notBefore)).toBe(root);
    expect(attestationRootOf(x5c, [root], new Date(notBefore.getTime() - 1000))).toBeUndefined();
  });
});
