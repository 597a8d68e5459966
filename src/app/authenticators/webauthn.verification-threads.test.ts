// Threat: a sign-in whose assertion is checked on a worker thread (as `serve` checks them) that
// is accepted without a check, or consumes its ceremony, when the thread fails instead of
// answering. Through the use cases, with real threads.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createWebAuthnProtocol,
  startVerificationThreads,
  type VerificationThreads,
} from "../../verifiers/webauthn/index.js";
import { VerificationThreadFailed } from "../../verifiers/webauthn/verification-threads.js";
import {
  TEST_ORIGIN,
  openWebAuthnWorld,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
let threads: VerificationThreads;
/** Makes the next check fail as a thread that stopped would. */
let failNext = false;

beforeEach(async () => {
  threads = startVerificationThreads({ threads: 1 });
  const onThreads = createWebAuthnProtocol({ verificationThreads: threads });
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
  await w.close();
  await threads.close();
});

const types = async () => (await w.audit()).map((event) => event.type);

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
    await expect(finish()).rejects.toBeInstanceOf(VerificationThreadFailed);
    expect(await types()).not.toContain("webauthn.verified");
    // Nothing was decided about the assertion: the ceremony still stands, once.
    await expect(finish()).resolves.toMatchObject({ authenticator: { kind: "webauthn" } });
    expect(await w.codeOf(finish())).toBe("webauthn.challenge_unknown");
  });
});
