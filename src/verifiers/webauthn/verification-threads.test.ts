// Threat: checking assertions on worker threads (what `serve` does by default) answers
// differently from checking them on the event loop: a refusal lost or changed in the crossing,
// a thread that fails open, or a check whose input is not what the caller gave. Each case is
// checked both ways, on the same input, with the software authenticator.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type {
  AuthenticationVerification,
  RelyingParty,
  StoredCredential,
} from "../../app/authenticators/webauthn-protocol.js";
import {
  createWebAuthnProtocol,
  defaultVerificationThreads,
  startVerificationThreads,
} from "./index.js";
import { VerificationThreadFailed } from "./verification-threads.js";
import { SoftAuthenticator, type Knobs } from "./test-support/soft-authenticator.js";

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

// The plumbing, with a stand-in thread whose answers the challenge chooses.
describe("the verification threads' plumbing", () => {
  const threadModule = new URL("./test-support/stand-in-verification-thread.ts", import.meta.url);
  const check = (
    pool: ReturnType<typeof startVerificationThreads>,
    what: string,
  ): Promise<AuthenticationVerification> =>
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
    });
  const threadOf = (answer: AuthenticationVerification) => (answer.ok ? "" : answer.detail);

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
      expect(after).toMatch(/^thread \d+$/);
      expect(after).not.toBe(before);
    } finally {
      await pool.close();
    }
  });

  it("fails only the check whose verifier threw, without its message", async () => {
    const pool = startVerificationThreads({ threads: 1, threadModule });
    try {
      const [threw, answered] = await Promise.allSettled([check(pool, "throw"), check(pool, "ok")]);
      expect(threw).toMatchObject({ status: "rejected" });
      if (threw.status === "rejected") {
        expect(threw.reason).toBeInstanceOf(VerificationThreadFailed);
        expect(String(threw.reason)).toBe(
          "VerificationThreadFailed: A WebAuthn verification thread failed: the verifier threw TypeError",
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
