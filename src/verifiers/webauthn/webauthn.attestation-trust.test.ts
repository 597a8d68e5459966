// Threat: a software authenticator (or a phone's synced passkey) claiming to be a hardware
// security key, to reach AAL3 or to pass a tenant's list of allowed models. The AAGUID and the
// flags are the authenticator's own word; only an attestation whose certificate chain leads to a
// root the operator trusts proves the model (NIST SP 800-63B-4 §2.3.1, checklist W8).
import { X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  RegistrationVerification,
  RelyingParty,
} from "../../app/authenticators/webauthn-protocol.js";
import { createWebAuthnProtocol } from "./index.js";
import { AttestationVendor, type BatchOptions } from "./test-support/attestation-ca.js";
import { SoftAuthenticator } from "./test-support/soft-authenticator.js";

const rp: RelyingParty = { id: "mfa.test", name: "Acme", origins: ["https://mfa.test"] };
const KEY_MODEL = "2fc0579f-8113-47ea-b116-bb5a8db9202a";
const OTHER_MODEL = "ee882879-721c-4913-9775-3dfcce97072a";
const NOW = new Date("2026-12-06T12:00:00Z");

let vendor: AttestationVendor;
let stranger: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
  stranger = await AttestationVendor.create("Keys Inc");
});

async function register(
  authenticator: SoftAuthenticator,
  options: {
    roots?: readonly string[];
    aaguids?: readonly string[];
    at?: Date;
  } = {},
): Promise<RegistrationVerification | { ok: true; credential: { attested: boolean } }> {
  const protocol = createWebAuthnProtocol({ attestationRoots: options.roots ?? [vendor.rootPem] });
  const challenge = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const creation = await protocol.registrationOptions({
    rp,
    user: { id: "acme/alice", name: "alice", displayName: "Alice" },
    challenge,
    excludeCredentials: [],
    userVerification: "required",
    attestation: "direct",
    timeoutMs: 60_000,
  });
  const result = await protocol.verifyRegistration({
    response: authenticator.register(creation),
    challenge,
    rp,
    userVerification: "required",
    aaguids: options.aaguids ?? [],
    at: options.at ?? NOW,
  });
  // Attested: a root vouched for it.
  return result.ok
    ? {
        ...result,
        credential: {
          ...result.credential,
          attested: result.credential.attestationRoot !== undefined,
        },
      }
    : result;
}

async function securityKey(batch: Partial<BatchOptions> = {}, from = vendor) {
  const attestation = await from.batch({ aaguid: KEY_MODEL, ...batch });
  return new SoftAuthenticator({ origin: "https://mfa.test", aaguid: KEY_MODEL, attestation });
}

describe("attestation trust at registration", () => {
  it("attests a key whose batch certificate chains to a configured root, naming the root", async () => {
    const result = await register(await securityKey());
    expect(result).toMatchObject({
      ok: true,
      credential: {
        attested: true,
        attestationFormat: "packed",
        aaguid: KEY_MODEL,
        attestationRoot: {
          subject: "C=US, O=Keys Inc, CN=Keys Inc Attestation Root",
          fingerprint: new X509Certificate(vendor.rootPem).fingerprint256,
        },
      },
    });
  });

  it("attests through an intermediate CA, and a root given as base64 DER (FIDO MDS form)", async () => {
    const mdsForm = vendor.rootPem.replace(/-----[A-Z ]+-----|\s/g, "");
    const result = await register(await securityKey({ intermediate: true }), { roots: [mdsForm] });
    expect(result).toMatchObject({ ok: true, credential: { attested: true } });
  });

  it("does not attest the same key when the operator configured no root", async () => {
    const result = await register(await securityKey(), { roots: [] });
    expect(result).toMatchObject({ ok: true, credential: { attested: false } });
    expect(result.ok && "attestationRoot" in result.credential).toBe(false);
  });

  it("does not attest a chain to another vendor's root, though its names are the same", async () => {
    const result = await register(await securityKey({}, stranger));
    expect(result).toMatchObject({ ok: true, credential: { attested: false } });
  });

  it("does not attest self attestation or none, whatever model they claim", async () => {
    for (const attestation of ["packed-self", "none"] as const) {
      const claimant = new SoftAuthenticator({
        origin: "https://mfa.test",
        aaguid: KEY_MODEL,
        attestation,
      });
      expect(await register(claimant)).toMatchObject({ ok: true, credential: { attested: false } });
    }
  });

  it("does not attest through an intermediate that is not a CA", async () => {
    const key = await securityKey({ intermediate: true, intermediateNotCa: true });
    expect(await register(key)).toMatchObject({ ok: true, credential: { attested: false } });
  });

  it("judges validity by the time it is given: a batch certificate expired then is not attested", async () => {
    const validity = {
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2098-01-01T00:00:00Z"),
    };
    const key = await securityKey({ validity });
    const before = await register(key, { at: new Date("2097-12-31T00:00:00Z") });
    const after = await register(key, { at: new Date("2098-01-02T00:00:00Z") });
    expect([before, after]).toMatchObject([
      { ok: true, credential: { attested: true } },
      { ok: true, credential: { attested: false } },
    ]);
  });

  it("judges the intermediate's and the root's validity too", async () => {
    const ended = { notBefore: new Date("2020-01-01Z"), notAfter: new Date("2026-01-01Z") };
    const oldRoot = await AttestationVendor.create("Old Keys", ended);
    const viaOldRoot = await register(await securityKey({}, oldRoot), {
      roots: [oldRoot.rootPem],
    });
    const viaOldIntermediate = await register(await securityKey({ intermediate: ended }));
    expect([viaOldRoot, viaOldIntermediate]).toMatchObject([
      { ok: true, credential: { attested: false } },
      { ok: true, credential: { attested: false } },
    ]);
  });

  it("refuses a certificate chain whose leaf did not sign the attestation", async () => {
    // A real vendor's certificates, copied from some key, with a statement signed by another key.
    const copied = await vendor.batch({ aaguid: KEY_MODEL });
    const forger = await vendor.batch({ aaguid: KEY_MODEL });
    const key = new SoftAuthenticator({
      origin: "https://mfa.test",
      aaguid: KEY_MODEL,
      attestation: { privateKey: forger.privateKey, x5c: copied.x5c },
    });
    expect(await register(key)).toMatchObject({ ok: false, code: "webauthn.attestation_rejected" });
  });

  it("refuses a batch certificate for another model than the AAGUID the key reports", async () => {
    const attestation = await vendor.batch({ aaguid: OTHER_MODEL });
    const key = new SoftAuthenticator({
      origin: "https://mfa.test",
      aaguid: KEY_MODEL,
      attestation,
    });
    expect(await register(key)).toMatchObject({ ok: false, code: "webauthn.attestation_rejected" });
  });
});

describe("a tenant's list of allowed models", () => {
  it("admits an attested key of a listed model", async () => {
    const result = await register(await securityKey(), { aaguids: [KEY_MODEL] });
    expect(result).toMatchObject({ ok: true, credential: { attested: true, aaguid: KEY_MODEL } });
  });

  it("refuses a listed model's AAGUID claimed by self attestation: nothing proves it", async () => {
    const claimant = new SoftAuthenticator({
      origin: "https://mfa.test",
      aaguid: KEY_MODEL,
      attestation: "packed-self",
    });
    const result = await register(claimant, { aaguids: [KEY_MODEL] });
    expect(result).toMatchObject({ ok: false, code: "webauthn.attestation_untrusted" });
  });

  it("refuses a listed model whose chain leads to no configured root", async () => {
    const result = await register(await securityKey({}, stranger), { aaguids: [KEY_MODEL] });
    expect(result).toMatchObject({ ok: false, code: "webauthn.attestation_untrusted" });
  });

  it("refuses an attested key of a model not on the list", async () => {
    const result = await register(await securityKey(), { aaguids: [OTHER_MODEL] });
    expect(result).toMatchObject({ ok: false, code: "webauthn.aaguid_not_allowed" });
  });
});

describe("formats whose statement does not count", () => {
  // Threat: server-side requests to addresses an attacker names. For `android-key` the library
  // fetches the CRLs that the client's own certificates name before it checks they lead to
  // Google; such formats are read as `none`: the credential registers, unattested, and nothing
  // is fetched.
  let crlServer: Server;
  let crlUrl = "";
  const fetched: string[] = [];
  beforeAll(async () => {
    crlServer = createServer((request, response) => {
      fetched.push(request.url ?? "");
      response.statusCode = 404;
      response.end();
    });
    await new Promise<void>((resolve) => crlServer.listen(0, "127.0.0.1", resolve));
    crlUrl = `http://127.0.0.1:${String((crlServer.address() as AddressInfo).port)}`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        crlServer.close(() => {
          resolve();
        });
      }),
  );

  for (const format of ["android-key", "android-safetynet", "apple", "something-new"]) {
    it(`reads ${format} as none: registered, not attested, nothing fetched`, async () => {
      const signer = await vendor.batch({ aaguid: KEY_MODEL, intermediate: true, crlUrl });
      const key = new SoftAuthenticator({
        origin: "https://mfa.test",
        aaguid: KEY_MODEL,
        attestation: { format, signer },
      });
      const result = await register(key);
      expect(result).toMatchObject({
        ok: true,
        credential: { attested: false, attestationFormat: format },
      });
      expect(fetched).toEqual([]);
    });
  }

  it("refuses such a format where the tenant lists models: nothing proves the model", async () => {
    const signer = await vendor.batch({ aaguid: KEY_MODEL });
    const key = new SoftAuthenticator({
      origin: "https://mfa.test",
      aaguid: KEY_MODEL,
      attestation: { format: "android-key", signer },
    });
    expect(await register(key, { aaguids: [KEY_MODEL] })).toMatchObject({
      ok: false,
      code: "webauthn.attestation_untrusted",
    });
  });
});

describe("a model proven by its certificate", () => {
  // Threat: with two vendors' roots configured, a key of one vendor claiming the other's model.
  // A root vouches for its vendor's hardware; only a batch certificate that names the model
  // (the AAGUID extension, matched to the authenticator data) proves which model it is.
  it("refuses a listed model whose attested batch certificate does not name it", async () => {
    const cheap = await AttestationVendor.create("Cheap Keys");
    const attestation = await cheap.batch({ aaguid: KEY_MODEL, withoutAaguidExtension: true });
    const key = new SoftAuthenticator({
      origin: "https://mfa.test",
      aaguid: KEY_MODEL,
      attestation,
    });
    const roots = [vendor.rootPem, cheap.rootPem];
    expect(await register(key, { roots })).toMatchObject({
      ok: true,
      credential: { attested: true },
    });
    expect(await register(key, { roots, aaguids: [KEY_MODEL] })).toMatchObject({
      ok: false,
      code: "webauthn.attestation_untrusted",
    });
  });
});

describe("configured roots", () => {
  it("are refused at start when they are no certificate", () => {
    expect(() => createWebAuthnProtocol({ attestationRoots: ["not a certificate"] })).toThrow(
      TypeError,
    );
  });

  it("trust a root by its certificate's fingerprint, only while it is configured", () => {
    const fingerprint = new X509Certificate(vendor.rootPem).fingerprint256;
    expect([
      createWebAuthnProtocol({ attestationRoots: [vendor.rootPem] }).trustsAttestationRoot(
        fingerprint,
      ),
      createWebAuthnProtocol({ attestationRoots: [stranger.rootPem] }).trustsAttestationRoot(
        fingerprint,
      ),
      createWebAuthnProtocol().trustsAttestationRoot(fingerprint),
    ]).toStrictEqual([true, false, false]);
  });

  it("tell whether attestation can be verified at all", () => {
    expect([
      createWebAuthnProtocol().verifiesAttestation,
      createWebAuthnProtocol({ attestationRoots: [vendor.rootPem] }).verifiesAttestation,
    ]).toStrictEqual([false, true]);
  });
});
