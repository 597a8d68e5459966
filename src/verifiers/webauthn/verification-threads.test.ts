// Threat: checking registrations and assertions on worker threads (what `serve` does by default)
// answers differently from checking them on the event loop: a refusal lost or changed in the
// crossing, an attestation root or a time that does not cross intact, a thread that fails open,
// or a check whose input is not what the caller gave. Each case is checked both ways, on the same
// input, with the software authenticator.
import { X509Certificate } from "node:crypto";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  AuthenticationVerification,
  RegistrationVerification,
  RelyingParty,
  StoredCredential,
} from "../../app/authenticators/webauthn-protocol.js";
import {
  createWebAuthnProtocol,
  defaultVerificationThreads,
  startVerificationThreads,
} from "./index.js";
import { VerifierUnavailable } from "../../app/authenticators/webauthn-protocol.js";
import {
  VerificationThreadFailed,
  VerifierThrew,
  type VerificationThreads,
} from "./verification-threads.js";
import { AttestationVendor } from "./test-support/attestation-ca.js";
import {
  SoftAuthenticator,
  type Knobs,
  type SoftAuthenticatorOptions,
} from "./test-support/soft-authenticator.js";

const onLoop = createWebAuthnProtocol();
const threads = startVerificationThreads({ threads: 2 });
const onThreads = createWebAuthnProtocol({ verificationThreads: threads });
afterAll(() => threads.close());

const rp: RelyingParty = { id: "mfa.test", name: "Acme", origins: ["https://mfa.test"] };
const challenge = () =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

async function enrolled(initialSignCount = 0) {
  const authenticator = new SoftAuthenticator({
    origin: "https://mfa.test",
    initialSignCount,
    counterStep: initialSignCount === 0 ? 0 : 1,
  });
  const c = challenge();
  const options = await onLoop.registrationOptions({
    rp,
    user: { id: "acme/alice", name: "alice", displayName: "Alice" },
    challenge: c,
    excludeCredentials: [],
    userVerification: "required",
    attestation: "none",
    timeoutMs: 60_000,
  });
  const registration = await onLoop.verifyRegistration({
    response: authenticator.register(options),
    challenge: c,
    rp,
    userVerification: "required",
    aaguids: [],
    at: new Date(),
  });
  if (!registration.ok) throw new Error(`registration failed: ${registration.code}`);
  const stored: StoredCredential = { ...registration.credential, transports: ["internal"] };
  return { authenticator, stored };
}

/** One assertion, checked on the event loop and on the threads: both answers. */
async function bothWays(
  knobs: Knobs,
  options: {
    readonly edit?: (response: Record<string, unknown>) => unknown;
    readonly expected?: string;
    readonly credential?: (stored: StoredCredential) => StoredCredential;
    readonly initialSignCount?: number;
  } = {},
): Promise<{ loop: AuthenticationVerification; thread: AuthenticationVerification }> {
  const { authenticator, stored } = await enrolled(options.initialSignCount);
  const c = challenge();
  const response = authenticator.authenticate(
    { challenge: c, rpId: rp.id, allowCredentials: [] },
    knobs,
  );
  const input = {
    response: options.edit === undefined ? response : options.edit(response),
    challenge: options.expected ?? c,
    rp,
    userVerification: "required" as const,
    credential: options.credential === undefined ? stored : options.credential(stored),
  };
  const [loop, thread] = await Promise.all([
    onLoop.verifyAuthentication(input),
    onThreads.verifyAuthentication(input),
  ]);
  return { loop, thread };
}

describe("assertions checked on worker threads", () => {
  it("accepts an honest assertion with the same answer as the event loop", async () => {
    const { loop, thread } = await bothWays({ uv: true });
    expect(thread).toMatchObject({ ok: true, userVerified: true, cloneSignal: false });
    expect(thread).toEqual(loop);
  });

  const refused: readonly [string, Knobs, Parameters<typeof bothWays>[1], string][] = [
    ["a signature by another key", { bogusSignature: true }, {}, "webauthn.bad_signature"],
    [
      "client data edited after signing",
      { tamperClientData: (json) => json.replace(/}$/, ',"extra":1}') },
      {},
      "webauthn.bad_signature",
    ],
    [
      "authenticator data edited after signing (UV set)",
      { uv: false, tamperAuthData: (bytes) => void (bytes[32] = (bytes[32] ?? 0) | 0x04) },
      {},
      "webauthn.bad_signature",
    ],
    ["another challenge (a replay)", {}, { expected: challenge() }, "webauthn.challenge_mismatch"],
    ["another origin", { origin: "https://evil.test" }, {}, "webauthn.origin_not_allowed"],
    ["another RP id", { rpId: "evil.test" }, {}, "webauthn.rp_id_mismatch"],
    ["no user verification where it is required", { uv: false }, {}, "webauthn.user_not_verified"],
    ["a registration ceremony's type", { type: "webauthn.create" }, {}, "webauthn.wrong_type"],
    [
      "another credential's id",
      {},
      { credential: (stored) => ({ ...stored, credentialId: "AAAA" }) },
      "webauthn.credential_unknown",
    ],
    [
      "backup eligibility other than registered",
      { be: true },
      {},
      "webauthn.backup_eligibility_changed",
    ],
    ["a response that is not an object", {}, { edit: () => "{}" }, "webauthn.malformed_response"],
  ];
  for (const [what, knobs, options, code] of refused) {
    it(`refuses ${what} as ${code}, as the event loop does`, async () => {
      const { loop, thread } = await bothWays(knobs, options);
      expect(thread).toMatchObject({ ok: false, code });
      expect(thread).toEqual(loop);
    });
  }

  it("returns a counter that went back as a clone signal, as the event loop does", async () => {
    const { loop, thread } = await bothWays(
      { uv: true, signCount: 3 },
      { initialSignCount: 10, credential: (stored) => ({ ...stored, signCount: 11 }) },
    );
    expect(thread).toMatchObject({ ok: true, signCount: 3, cloneSignal: true });
    expect(thread).toEqual(loop);
  });

  it("checks many assertions at once, each against its own challenge", async () => {
    const { authenticator, stored } = await enrolled();
    const inputs = Array.from({ length: 40 }, (_, i) => {
      const c = challenge();
      const response = authenticator.authenticate(
        { challenge: c, rpId: rp.id, allowCredentials: [] },
        { uv: true },
      );
      // Every third one is checked against another challenge than the one signed.
      return { response, challenge: i % 3 === 0 ? challenge() : c, rp, credential: stored };
    });
    const answers = await Promise.all(
      inputs.map((input) =>
        onThreads.verifyAuthentication({ ...input, userVerification: "required" }),
      ),
    );
    answers.forEach((answer, i) => {
      expect(answer).toMatchObject(
        i % 3 === 0 ? { ok: false, code: "webauthn.challenge_mismatch" } : { ok: true },
      );
    });
  });

  it("fails closed: input that cannot cross to a thread rejects rather than verifying", async () => {
    const { stored } = await enrolled();
    await expect(
      onThreads.verifyAuthentication({
        response: { id: stored.credentialId, toJSON: () => ({}) },
        challenge: challenge(),
        rp,
        userVerification: "required",
        credential: stored,
      }),
    ).rejects.toThrow();
  });

  it("rejects every check once closed", async () => {
    const closing = startVerificationThreads({ threads: 1 });
    const { authenticator, stored } = await enrolled();
    const c = challenge();
    const input = {
      response: authenticator.authenticate({ challenge: c, rpId: rp.id, allowCredentials: [] }),
      challenge: c,
      rp,
      userVerification: "required" as const,
      credential: stored,
    };
    await expect(closing.verifyAuthentication(input)).resolves.toMatchObject({ ok: true });
    await closing.close();
    await expect(closing.verifyAuthentication(input)).rejects.toThrow();
  });

  it("refuses a thread count that is not a positive integer", () => {
    for (const threads of [0, -1, 1.5, Number.NaN]) {
      expect(() => startVerificationThreads({ threads })).toThrow(RangeError);
    }
  });

  it("defaults to one thread per core but one, none on one core, at most 4", () => {
    expect([1, 2, 3, 5, 64].map((cores) => defaultVerificationThreads(cores))).toEqual([
      0, 1, 2, 4, 4,
    ]);
  });
});

describe("registrations checked on worker threads", () => {
  const MODEL = "2fc0579f-8113-47ea-b116-bb5a8db9202a";
  const OTHER_MODEL = "ee882879-721c-4913-9775-3dfcce97072a";
  const NOW = new Date("2026-12-06T12:00:00Z");
  let vendor: AttestationVendor;
  let stranger: AttestationVendor;
  let attestedOnLoop: ReturnType<typeof createWebAuthnProtocol>;
  let attestedOnThreads: ReturnType<typeof createWebAuthnProtocol>;
  beforeAll(async () => {
    vendor = await AttestationVendor.create("Keys Inc");
    stranger = await AttestationVendor.create("Keys Inc");
    // The operator's roots, as `webauthn.attestationRoots` gives them, on both paths.
    attestedOnLoop = createWebAuthnProtocol({ attestationRoots: [vendor.rootPem] });
    attestedOnThreads = createWebAuthnProtocol({
      attestationRoots: [vendor.rootPem],
      verificationThreads: threads,
    });
  });

  const securityKey = async (from = vendor) =>
    new SoftAuthenticator({
      origin: "https://mfa.test",
      aaguid: MODEL,
      attestation: await from.batch({ aaguid: MODEL }),
    });
  const passkey = (options: Partial<SoftAuthenticatorOptions> = {}) =>
    new SoftAuthenticator({ origin: "https://mfa.test", ...options });

  /** One registration response, checked on the event loop and on the threads: both answers. */
  async function registeredBothWays(
    authenticator: SoftAuthenticator,
    options: {
      readonly knobs?: Knobs;
      readonly edit?: (response: Record<string, unknown>) => unknown;
      readonly expected?: string;
      readonly aaguids?: readonly string[];
      readonly at?: Date;
    } = {},
  ): Promise<{ loop: RegistrationVerification; thread: RegistrationVerification }> {
    const c = challenge();
    const creation = await attestedOnLoop.registrationOptions({
      rp,
      user: { id: "acme/alice", name: "alice", displayName: "Alice" },
      challenge: c,
      excludeCredentials: [],
      userVerification: "required",
      attestation: "direct",
      timeoutMs: 60_000,
    });
    const response = authenticator.register(creation, options.knobs);
    const input = {
      response: options.edit === undefined ? response : options.edit(response),
      challenge: options.expected ?? c,
      rp,
      userVerification: "required" as const,
      aaguids: options.aaguids ?? [],
      at: options.at ?? NOW,
    };
    const [loop, thread] = await Promise.all([
      attestedOnLoop.verifyRegistration(input),
      attestedOnThreads.verifyRegistration(input),
    ]);
    return { loop, thread };
  }

  it("registers a passkey without attestation with the same answer as the event loop", async () => {
    const { loop, thread } = await registeredBothWays(passkey({ backupEligible: true }));
    expect(thread).toMatchObject({
      ok: true,
      credential: { attestationFormat: "none", backupEligible: true, transports: ["internal"] },
    });
    expect(thread).toEqual(loop);
  });

  it("registers a packed self-attestation, unattested, as the event loop does", async () => {
    const { loop, thread } = await registeredBothWays(passkey({ attestation: "packed-self" }));
    expect(thread).toMatchObject({ ok: true, credential: { attestationFormat: "packed" } });
    expect(thread.ok && thread.credential.attestationRoot).toBeUndefined();
    expect(thread).toEqual(loop);
  });

  it("attests a packed full attestation to the operator's root on a thread, as the event loop does", async () => {
    const { loop, thread } = await registeredBothWays(await securityKey(), { aaguids: [MODEL] });
    expect(thread).toMatchObject({
      ok: true,
      credential: {
        aaguid: MODEL,
        attestationFormat: "packed",
        attestationRoot: {
          subject: "C=US, O=Keys Inc, CN=Keys Inc Attestation Root",
          fingerprint: new X509Certificate(vendor.rootPem).fingerprint256,
        },
      },
    });
    expect(thread).toEqual(loop);
  });

  it("judges the chain at the caller's time, not the thread's clock", async () => {
    // Before every certificate of the vendor's (valid from 2000): no root vouches then.
    const before = new Date("1999-06-01T00:00:00Z");
    const unattested = await registeredBothWays(await securityKey(), { at: before });
    expect(unattested.thread).toMatchObject({ ok: true });
    expect(unattested.thread.ok && unattested.thread.credential.attestationRoot).toBeUndefined();
    expect(unattested.thread).toEqual(unattested.loop);
    const { loop, thread } = await registeredBothWays(await securityKey(), {
      at: before,
      aaguids: [MODEL],
    });
    expect(thread).toMatchObject({ ok: false, code: "webauthn.attestation_untrusted" });
    expect(thread).toEqual(loop);
  });

  const refused: readonly [
    string,
    () => Promise<SoftAuthenticator> | SoftAuthenticator,
    Parameters<typeof registeredBothWays>[1],
    string,
  ][] = [
    [
      "a model not on the allow-list",
      () => securityKey(),
      { aaguids: [OTHER_MODEL] },
      "webauthn.aaguid_not_allowed",
    ],
    [
      "an attestation chaining to a root the operator does not trust",
      () => securityKey(stranger),
      { aaguids: [MODEL] },
      "webauthn.attestation_untrusted",
    ],
    [
      "an unattested passkey where models are restricted",
      () => passkey({ aaguid: MODEL }),
      { aaguids: [MODEL] },
      "webauthn.attestation_untrusted",
    ],
    [
      "authenticator data edited after the attestation signed it",
      () => passkey({ attestation: "packed-self" }),
      { knobs: { tamperAuthData: (bytes) => void (bytes[32] = (bytes[32] ?? 0) | 0x08) } },
      "webauthn.attestation_rejected",
    ],
    [
      "another challenge",
      () => passkey(),
      { expected: challenge() },
      "webauthn.challenge_mismatch",
    ],
    [
      "another origin",
      () => passkey(),
      { knobs: { origin: "https://evil.test" } },
      "webauthn.origin_not_allowed",
    ],
    ["another RP id", () => passkey(), { knobs: { rpId: "evil.test" } }, "webauthn.rp_id_mismatch"],
    [
      "no user verification",
      () => passkey(),
      { knobs: { uv: false } },
      "webauthn.user_not_verified",
    ],
    [
      "an assertion ceremony's type",
      () => passkey(),
      { knobs: { type: "webauthn.get" } },
      "webauthn.wrong_type",
    ],
    [
      "a key algorithm never requested",
      () => passkey({ algorithm: -35 }),
      {},
      "webauthn.algorithm_not_allowed",
    ],
    [
      "a credential id longer than 1023 bytes",
      () => passkey(),
      { knobs: { credentialId: Buffer.alloc(1024, 7).toString("base64url") } },
      "webauthn.malformed_response",
    ],
    [
      "a response that is not an object",
      () => passkey(),
      { edit: () => "{}" },
      "webauthn.malformed_response",
    ],
  ];
  for (const [what, authenticator, options, code] of refused) {
    it(`refuses ${what} as ${code}, as the event loop does`, async () => {
      const { loop, thread } = await registeredBothWays(await authenticator(), options);
      expect(thread).toMatchObject({ ok: false, code });
      expect(thread).toEqual(loop);
    });
  }

  it("checks registrations and assertions of one turn together, each with its own verifier", async () => {
    const { authenticator, stored } = await enrolled();
    const key = await securityKey();
    const checks = Array.from({ length: 12 }, async (_, i) => {
      const c = challenge();
      if (i % 2 === 0) {
        const response = authenticator.authenticate(
          { challenge: c, rpId: rp.id, allowCredentials: [] },
          { uv: true },
        );
        const input = { response, challenge: c, rp, credential: stored };
        return onThreads.verifyAuthentication({ ...input, userVerification: "required" });
      }
      const creation = { challenge: c, rp: { id: rp.id, name: rp.name }, user: { id: "dXNlcg" } };
      return attestedOnThreads.verifyRegistration({
        response: key.register(creation),
        // Every fourth one against another challenge than the one signed.
        challenge: i % 4 === 1 ? challenge() : c,
        rp,
        userVerification: "required",
        aaguids: [MODEL],
        at: NOW,
      });
    });
    const answers = await Promise.all(checks);
    answers.forEach((answer, i) => {
      if (i % 2 === 0) expect(answer).toMatchObject({ ok: true, cloneSignal: false });
      else if (i % 4 === 1) {
        expect(answer).toMatchObject({ ok: false, code: "webauthn.challenge_mismatch" });
      } else expect(answer).toMatchObject({ ok: true, credential: { aaguid: MODEL } });
    });
  });

  it("fails closed: a registration that cannot cross to a thread rejects rather than verifying", async () => {
    await expect(
      attestedOnThreads.verifyRegistration({
        response: { id: "AAAA", toJSON: () => ({}) },
        challenge: challenge(),
        rp,
        userVerification: "required",
        aaguids: [],
        at: NOW,
      }),
    ).rejects.toThrow();
  });

  it("rejects every registration once closed", async () => {
    const closing = startVerificationThreads({ threads: 1 });
    const protocol = createWebAuthnProtocol({ verificationThreads: closing });
    const key = passkey();
    const register = async () => {
      const c = challenge();
      const creation = { challenge: c, rp: { id: rp.id, name: rp.name }, user: { id: "dXNlcg" } };
      return protocol.verifyRegistration({
        response: key.register(creation),
        challenge: c,
        rp,
        userVerification: "required",
        aaguids: [],
        at: NOW,
      });
    };
    await expect(register()).resolves.toMatchObject({ ok: true });
    await closing.close();
    await expect(register()).rejects.toBeInstanceOf(VerificationThreadFailed);
  });
});

// The plumbing, with a stand-in thread whose answers the challenge chooses: each case for both
// kinds of check, since a registration crosses as an assertion does.
const threadModule = new URL("./test-support/stand-in-verification-thread.ts", import.meta.url);
type Verification = AuthenticationVerification | RegistrationVerification;
const standInChecks = {
  authentication: (pool: VerificationThreads, what: string): Promise<Verification> =>
    pool.verifyAuthentication({
      response: {},
      challenge: what,
      rp,
      userVerification: "required",
      credential: {
        credentialId: "AAAA",
        publicKey: "AAAA",
        signCount: 0,
        backupEligible: false,
        transports: [],
      },
    }),
  registration: (pool: VerificationThreads, what: string): Promise<Verification> =>
    pool.verifyRegistration({
      response: {},
      challenge: what,
      rp,
      userVerification: "required",
      aaguids: [],
      at: new Date(),
    }),
};
/** The stand-in's `thread N kind`: which thread answered, and for which verifier. */
const threadOf = (answer: Verification) => (answer.ok ? "" : answer.detail);

describe.each(["authentication", "registration"] as const)(
  "the verification threads' plumbing: %s checks",
  (kind) => {
    const check = standInChecks[kind];

    it("spreads the checks of one turn over the threads, each owing about as many", async () => {
      const pool = startVerificationThreads({ threads: 2, threadModule });
      try {
        const answers = await Promise.all(Array.from({ length: 20 }, () => check(pool, "wait:50")));
        const perThread = new Map<string, number>();
        for (const answer of answers) {
          perThread.set(threadOf(answer), (perThread.get(threadOf(answer)) ?? 0) + 1);
        }
        expect([...perThread.values()]).toEqual([10, 10]);
      } finally {
        await pool.close();
      }
    });

    it("rejects the checks a stopped thread owes, and answers the next check on a new thread", async () => {
      const pool = startVerificationThreads({ threads: 1, threadModule });
      try {
        const before = threadOf(await check(pool, "first"));
        const owed = [check(pool, "wait:1000"), check(pool, "exit")];
        for (const settled of await Promise.allSettled(owed)) {
          expect(settled).toMatchObject({ status: "rejected" });
          if (settled.status === "rejected") {
            expect(settled.reason).toBeInstanceOf(VerificationThreadFailed);
            expect(String(settled.reason)).toContain("exit code 3");
          }
        }
        const after = threadOf(await check(pool, "again"));
        expect(after).toMatch(new RegExp(`^thread \\d+ ${kind}$`));
        expect(after).not.toBe(before);
      } finally {
        await pool.close();
      }
    });

    // As on the event loop: an error that is not the thread's, so not one a retry would mend.
    it("fails only the check whose verifier threw, without its message", async () => {
      const pool = startVerificationThreads({ threads: 1, threadModule });
      try {
        const [threw, answered] = await Promise.allSettled([
          check(pool, "throw"),
          check(pool, "ok"),
        ]);
        expect(threw).toMatchObject({ status: "rejected" });
        if (threw.status === "rejected") {
          expect(threw.reason).toBeInstanceOf(VerifierThrew);
          expect(threw.reason).not.toBeInstanceOf(VerifierUnavailable);
          expect(String(threw.reason)).toBe(
            "VerifierThrew: A WebAuthn verifier threw TypeError on its thread",
          );
        }
        expect(answered).toMatchObject({ status: "fulfilled", value: { ok: false } });
      } finally {
        await pool.close();
      }
    });

    it("stops a thread that leaves a check unanswered, though it answers others meanwhile", async () => {
      const pool = startVerificationThreads({ threads: 1, timeoutMs: 1_000, threadModule });
      try {
        // Started (and loaded) before the clock runs.
        await check(pool, "warm");
        const started = performance.now();
        const hung = check(pool, "hang").then(
          () => "answered",
          (error: unknown) => error,
        );
        // Answers keep coming from the same thread while the hung check waits.
        for (let i = 0; i < 5; i += 1) {
          await check(pool, "ok");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(String(await hung)).toBe(
          "VerificationThreadFailed: A WebAuthn verification thread failed: a check went unanswered for 1000 ms",
        );
        // Well before the test would time out: the watchdog, not an answer, ended it.
        expect(performance.now() - started).toBeLessThan(4_000);
      } finally {
        await pool.close();
      }
    });

    it("rejects a check still waiting for its turn when the threads close", async () => {
      const pool = startVerificationThreads({ threads: 1, threadModule });
      const waiting = check(pool, "ok");
      await pool.close();
      await expect(waiting).rejects.toBeInstanceOf(VerificationThreadFailed);
    });

    it("fails the checks of the other kind that a thread owes when it stops", async () => {
      const pool = startVerificationThreads({ threads: 1, threadModule });
      try {
        const other =
          kind === "registration" ? standInChecks.authentication : standInChecks.registration;
        const owed = other(pool, "wait:1000");
        await expect(check(pool, "exit")).rejects.toBeInstanceOf(VerificationThreadFailed);
        await expect(owed).rejects.toThrow("exit code 3");
      } finally {
        await pool.close();
      }
    });
  },
);

describe("the verification threads' lifetime", () => {
  it("never keeps the process alive once its checks are answered", async () => {
    // A process that verifies once and never closes its threads must end by itself.
    const source = fileURLToPath(new URL("./verification-threads.ts", import.meta.url));
    const script = `
      import { startVerificationThreads } from ${JSON.stringify(source)};
      const pool = startVerificationThreads({ threads: 2, threadModule: new URL(${JSON.stringify(threadModule.href)}) });
      const answer = await pool.verifyAuthentication({ response: {}, challenge: "ok", rp: {}, userVerification: "required", credential: {} });
      console.log(answer.code);
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { timeout: 20_000 },
    );
    expect(stdout.trim()).toBe("webauthn.malformed_response");
  }, 30_000);
});

describe("a verification thread that never finishes starting", () => {
  it("rejects the checks it owes once the timeout has passed since its start, instead of leaving them waiting for ever", async () => {
    const pool = startVerificationThreads({
      threads: 1,
      timeoutMs: 1_000,
      threadModule: new URL("./test-support/never-ready-verification-thread.ts", import.meta.url),
    });
    try {
      const started = performance.now();
      const owed = standInChecks.authentication(pool, "ok").then(
        () => "answered",
        (error: unknown) => error,
      );
      const outcome = await Promise.race([
        owed,
        new Promise((resolve) => {
          setTimeout(() => {
            resolve("still waiting");
          }, 6_000);
        }),
      ]);
      expect(outcome).toBeInstanceOf(VerificationThreadFailed);
      expect(String(outcome)).toContain("did not start within 1000 ms");
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await pool.close();
    }
  }, 15_000);
});
