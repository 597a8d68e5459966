// The verifier against the software authenticator, both algorithms and both attestation formats
// it speaks, and the library behaviours it relies on, pinned so that an upgrade that changes them
// is noticed (security checklist, "Gaps in the libraries themselves").
import { verifyAuthenticationResponse } from "@simplewebauthn/server";
import { describe, expect, it } from "vitest";
import type { RelyingParty } from "../../app/authenticators/webauthn-protocol.js";
import { createWebAuthnProtocol } from "./index.js";
import { SoftAuthenticator, type SoftAlgorithm } from "./test-support/soft-authenticator.js";

const protocol = createWebAuthnProtocol();
const rp: RelyingParty = { id: "mfa.test", name: "Acme", origins: ["https://mfa.test"] };
const challenge = () =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

async function registered(algorithm: SoftAlgorithm, attestation: "none" | "packed-self" = "none") {
  const authenticator = new SoftAuthenticator({
    origin: "https://mfa.test",
    algorithm,
    attestation,
    initialSignCount: 5,
    aaguid: "2fc0579f-8113-47ea-b116-bb5a8db9202a",
  });
  const c = challenge();
  const options = await protocol.registrationOptions({
    rp,
    user: { id: "acme/alice", name: "alice", displayName: "Alice" },
    challenge: c,
    excludeCredentials: [],
    userVerification: "required",
    attestation: attestation === "none" ? "none" : "direct",
    timeoutMs: 60_000,
  });
  const result = await protocol.verifyRegistration({
    response: authenticator.register(options),
    challenge: c,
    rp,
    userVerification: "required",
    aaguids: [],
    at: new Date(),
  });
  return { authenticator, result, options };
}

describe("the WebAuthn verifier against a software authenticator", () => {
  for (const algorithm of [-7, -8, -257] as const) {
    it(`registers and authenticates with COSE algorithm ${String(algorithm)}`, async () => {
      const { authenticator, result } = await registered(algorithm);
      expect(result).toMatchObject({
        ok: true,
        credential: { algorithm, signCount: 5, backupEligible: false, attestationFormat: "none" },
      });
      if (!result.ok) return;
      const c = challenge();
      const options = await protocol.authenticationOptions({
        rp,
        challenge: c,
        allowCredentials: [{ id: result.credential.credentialId, transports: ["internal"] }],
        userVerification: "required",
        timeoutMs: 60_000,
      });
      expect(options).toMatchObject({
        challenge: c,
        rpId: "mfa.test",
        userVerification: "required",
      });
      const verified = await protocol.verifyAuthentication({
        response: authenticator.authenticate(options),
        challenge: c,
        rp,
        userVerification: "required",
        credential: { ...result.credential, transports: [] },
      });
      expect(verified).toEqual({
        ok: true,
        credentialId: result.credential.credentialId,
        userVerified: true,
        backupEligible: false,
        backupState: false,
        signCount: 6,
        cloneSignal: false,
      });
    });
  }

  it("accepts packed self-attestation and reports the AAGUID", async () => {
    const { result } = await registered(-7, "packed-self");
    expect(result).toMatchObject({
      ok: true,
      credential: { attestationFormat: "packed", aaguid: "2fc0579f-8113-47ea-b116-bb5a8db9202a" },
    });
  });

  it("asks for the three algorithms of the checklist and the tenant's user verification", async () => {
    const { options } = await registered(-7);
    expect(options).toMatchObject({
      rp: { id: "mfa.test", name: "Acme" },
      pubKeyCredParams: [
        { alg: -8, type: "public-key" },
        { alg: -7, type: "public-key" },
        { alg: -257, type: "public-key" },
      ],
      authenticatorSelection: { userVerification: "required" },
      attestation: "none",
    });
    expect(JSON.stringify(options)).not.toContain('alice"}');
    expect((options as { user: { id: string } }).user.id).not.toContain("alice");
  });
});

describe("library behaviours the verifier relies on (pinned)", () => {
  it("verifyAuthenticationResponse answers verified: false for a bad signature instead of throwing", async () => {
    const { authenticator, result } = await registered(-7);
    if (!result.ok) throw new Error("registration failed");
    const c = challenge();
    const response = authenticator.authenticate(
      { challenge: c, rpId: "mfa.test", allowCredentials: [] },
      { bogusSignature: true },
    );
    const answer = await verifyAuthenticationResponse({
      response: response as never,
      expectedChallenge: c,
      expectedOrigin: "https://mfa.test",
      expectedRPID: "mfa.test",
      credential: {
        id: result.credential.credentialId,
        publicKey: Buffer.from(result.credential.publicKey, "base64url"),
        counter: 0,
      },
    });
    expect(answer.verified).toBe(false);
  });

  it("verifyAuthenticationResponse accepts crossOrigin: true without a topOrigin (so we refuse it ourselves)", async () => {
    const { authenticator, result } = await registered(-7);
    if (!result.ok) throw new Error("registration failed");
    const c = challenge();
    const response = authenticator.authenticate(
      { challenge: c, rpId: "mfa.test", allowCredentials: [] },
      { crossOrigin: true },
    );
    const answer = await verifyAuthenticationResponse({
      response: response as never,
      expectedChallenge: c,
      expectedOrigin: "https://mfa.test",
      expectedRPID: "mfa.test",
      credential: {
        id: result.credential.credentialId,
        publicKey: Buffer.from(result.credential.publicKey, "base64url"),
        counter: 0,
      },
    });
    expect(answer.verified).toBe(true);
  });
});
