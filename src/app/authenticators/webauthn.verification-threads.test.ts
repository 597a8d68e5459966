// Threat: a registration or a sign-in checked on a worker thread (as `serve` checks them) that
// is accepted without a check, stores another credential than the event loop would, or consumes
// its ceremony, when the thread fails instead of answering. Through the use cases, with real
// threads.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RegistrationVerification } from "./webauthn-protocol.js";
import {
  createWebAuthnProtocol,
  startVerificationThreads,
  type VerificationThreads,
} from "../../verifiers/webauthn/index.js";
import { verifyRegistration } from "../../verifiers/webauthn/verify-registration.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { VerificationThreadFailed } from "../../verifiers/webauthn/verification-threads.js";
import { AppError } from "../errors.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import {
  TEST_ORIGIN,
  openWebAuthnWorld,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
});

let w: WebAuthnWorld;
let threads: VerificationThreads;
/** Makes the next check fail as a thread that stopped would. */
let failNext = false;
/** Likewise for the next registration, which the threads themselves answer so. */
let failNextRegistration = false;
/** Each registration the threads checked: what they were given and what they answered. */
let registrations: {
  input: Parameters<typeof verifyRegistration>[0];
  answer: RegistrationVerification;
}[];

beforeEach(async () => {
  threads = startVerificationThreads({ threads: 1 });
  registrations = [];
  const observed: VerificationThreads = {
    ...threads,
    verifyRegistration: async (input) => {
      if (failNextRegistration) {
        failNextRegistration = false;
        throw new VerificationThreadFailed("it stopped (exit code 1)");
      }
      const answer = await threads.verifyRegistration(input);
      registrations.push({ input, answer });
      return answer;
    },
  };
  const onThreads = createWebAuthnProtocol({
    attestationRoots: [vendor.rootPem],
    verificationThreads: observed,
  });
  w = await openWebAuthnWorld({
    webauthn: {
      protocol: {
        ...onThreads,
        verifyAuthentication: (input) => {
          if (!failNext) return onThreads.verifyAuthentication(input);
          failNext = false;
          return Promise.reject(new VerificationThreadFailed("it stopped (exit code 1)"));
        },
      },
      publicUrl: TEST_ORIGIN,
    },
  });
});
afterEach(async () => {
  failNext = false;
  failNextRegistration = false;
  await w.close();
  await threads.close();
});

const types = async () => (await w.audit()).map((event) => event.type);
/**
 * Expects `finish` refused as a verifier that could not run: `webauthn.unavailable`, asking for a
 * retry shortly, with what failed kept for the log.
 */
const expectUnavailable = async (finish: Promise<unknown>): Promise<void> => {
  const error = await finish.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({
    code: "webauthn.unavailable",
    details: { retryAfter: 1, cause: expect.stringMatching(/verification thread failed/) },
  });
};
const storedCredentials = () => w.h.store.read((r) => r.webauthnCredentials.list("acme", "alice"));

describe("WebAuthn registrations checked on a worker thread", () => {
  it("stores the credential the event loop would, attested or not", async () => {
    const key = w.authenticator({
      aaguid: MODEL,
      attestation: await vendor.batch({ aaguid: MODEL }),
    });
    const passkey = w.authenticator({ backupEligible: true, backupState: true });
    expect(await w.register(key, { name: "YubiKey" })).toMatchObject({ attested: true });
    expect(await w.register(passkey, { name: "phone" })).toMatchObject({ attested: false });
    // Both went to the threads, with the operator's roots and the use case's clock.
    expect(registrations).toHaveLength(2);
    const stored = await storedCredentials();
    for (const [index, { input, answer }] of registrations.entries()) {
      expect(input.at).toEqual(w.h.clock.now());
      expect(input.attestationRoots).toHaveLength(1);
      const onLoop = await verifyRegistration(input);
      expect(answer).toEqual(onLoop);
      if (!onLoop.ok) throw new Error(`refused on the event loop: ${onLoop.code}`);
      const { credential } = onLoop;
      const record = stored.find((c) => c.credentialId === credential.credentialId);
      expect(record, `registration ${String(index)}`).toMatchObject({
        publicKey: credential.publicKey,
        algorithm: credential.algorithm,
        signCount: credential.signCount,
        transports: credential.transports,
        aaguid: credential.aaguid,
        backupEligible: credential.backupEligible,
        backupState: credential.backupState,
        userVerified: credential.userVerified,
      });
      expect(record?.attestationRoot).toBe(credential.attestationRoot?.fingerprint);
    }
    expect(stored.map((c) => c.attestationRoot === undefined)).toEqual(
      expect.arrayContaining([true, false]),
    );
  });

  it("refuses on a thread what the event loop refuses, audited as a failed registration", async () => {
    await w.configure({ aaguids: [MODEL] });
    expect(await w.codeOf(w.register(w.authenticator({ aaguid: MODEL })))).toBe(
      "webauthn.attestation_untrusted",
    );
    expect(await w.codeOf(w.register(w.authenticator(), { knobs: { uv: false } }))).toBe(
      "webauthn.user_not_verified",
    );
    expect(await storedCredentials()).toEqual([]);
    const seen = await types();
    expect(seen.filter((type) => type === "webauthn.registration_failed")).toHaveLength(2);
    expect(seen).not.toContain("webauthn.registered");
  });

  it("fails a registration closed when its thread fails: nothing stored, the ceremony kept", async () => {
    const caller = w.service.acme;
    await provedMfaJustNow(w.h, "acme", "alice");
    const begun = await w.h.app.webauthn.beginRegistration(caller, "acme", "alice");
    const response = w.authenticator().register(begun.options);
    const finish = () =>
      w.h.app.webauthn.finishRegistration(caller, "acme", "alice", begun.registration, {
        response,
      });
    failNextRegistration = true;
    await expectUnavailable(finish());
    expect(await storedCredentials()).toEqual([]);
    const seen = await types();
    expect(seen).not.toContain("webauthn.registered");
    // Nothing was decided about the response: not a failed registration either.
    expect(seen).not.toContain("webauthn.registration_failed");
    // The ceremony still stands, once.
    await expect(finish()).resolves.toMatchObject({ kind: "webauthn" });
    expect(await storedCredentials()).toHaveLength(1);
    expect(await w.codeOf(finish())).toBe("webauthn.challenge_unknown");
  });

  it("fails a registration closed once the threads have stopped, rather than checking it elsewhere", async () => {
    await threads.close();
    await expectUnavailable(w.register(w.authenticator()));
    expect(await storedCredentials()).toEqual([]);
    expect(await types()).not.toContain("webauthn.registered");
  });
});

describe("WebAuthn sign-ins checked on a worker thread", () => {
  it("accepts an honest assertion and refuses a forged one, audited as on the event loop", async () => {
    const key = w.authenticator();
    const view = await w.register(key);
    const verified = await w.authenticate(key);
    expect(verified).toMatchObject({ authenticator: { id: view.id } });
    expect(await w.codeOf(w.authenticate(key, { knobs: { bogusSignature: true } }))).toBe(
      "webauthn.bad_signature",
    );
    expect(await w.codeOf(w.authenticate(key, { knobs: { uv: false } }))).toBe(
      "webauthn.user_not_verified",
    );
    const seen = await types();
    expect(seen.filter((type) => type === "webauthn.verified")).toHaveLength(1);
    expect(seen.filter((type) => type === "webauthn.authentication_failed")).toHaveLength(2);
  });

  it("fails a sign-in closed when its thread fails: nothing verified, the ceremony kept", async () => {
    const key = w.authenticator();
    await w.register(key);
    const caller = w.service.acme;
    const begun = await w.h.app.webauthn.beginAuthentication(caller, "acme", "alice");
    const response = key.authenticate(begun.options);
    const finish = () =>
      w.h.app.webauthn.finishAuthentication(caller, "acme", "alice", begun.authentication, {
        response,
      });
    failNext = true;
    await expectUnavailable(finish());
    expect(await types()).not.toContain("webauthn.verified");
    // Nothing was decided about the assertion: the ceremony still stands, once.
    await expect(finish()).resolves.toMatchObject({ authenticator: { kind: "webauthn" } });
    expect(await w.codeOf(finish())).toBe("webauthn.challenge_unknown");
  });
});
