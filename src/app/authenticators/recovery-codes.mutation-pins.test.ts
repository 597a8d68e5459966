/**
 * The recovery codes' checks, pinned where a mutation survey of src/app/authenticators found them
 * unpinned: the throttle's admission before the slow hash, and its guard again in the transaction
 * that uses the code, each could be deleted with every earlier test still passing (the guard
 * refused what the admission let through, and the admission refused what the guard would); so
 * could the locked set's refusal before the hash (the store refuses to use a code of a locked
 * set, so only the hash it spends shows), and the reason given for a code whose set was replaced
 * while it was hashed.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Application, Caller } from "../application.js";
import type { SecretHasher } from "../ports.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import {
  CountingRandom,
  openHarness,
  testRecoveryCodeHasher,
  type Harness,
} from "../test-support/harness.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import { WRONG_RECOVERY_CODE } from "../test-support/every-method.js";
import { RECOVERY_CODE_FAILURE_LIMIT } from "./recovery-codes.js";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

const { principal: PRINCIPAL } = VERIFICATION_THROTTLE_DEFAULTS;

describe("a recovery code submitted", () => {
  let h: Harness;
  let service: Caller;
  let codes: readonly string[];
  /** Another instance of the application, whose hasher counts and may run `beforeVerify`. */
  let other: Application & { close(): Promise<void> };
  let verifies: number;
  let beforeVerify: (() => Promise<void>) | undefined;

  const failures = async (count: number) => {
    for (let n = 0; n < count; n += 1) {
      const outcome = await outcomeOf(
        h.app.recoveryCodes.verify(service, "acme", "alice", { code: WRONG_RECOVERY_CODE }),
      );
      expect(outcome.code).toBe("recovery_code.wrong_code");
    }
  };
  const remaining = async () =>
    (await h.app.recoveryCodes.status(service, "acme", "alice")).remaining;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
    ({ codes } = await h.app.recoveryCodes.generate(service, "acme", "alice"));
    verifies = 0;
    beforeVerify = undefined;
    const counting: SecretHasher = {
      hash: (secret) => testRecoveryCodeHasher.hash(secret),
      async verify(secret, stored) {
        verifies += 1;
        const run = beforeVerify;
        beforeVerify = undefined;
        await run?.();
        return testRecoveryCodeHasher.verify(secret, stored);
      },
    };
    other = h.application({
      store: h.store,
      random: new CountingRandom(),
      recoveryCodeHasher: counting,
    });
  });
  afterEach(async () => {
    await other.close();
    await h.close();
  });

  it("is refused before it is hashed: a throttled attempt spends no hash", async () => {
    await failures(PRINCIPAL.freeFailures + 1);
    const outcome = await outcomeOf(
      other.recoveryCodes.verify(service, "acme", "alice", { code: codes[0]! }),
    );
    expect(outcome).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: backoffSeconds(PRINCIPAL, PRINCIPAL.freeFailures + 1) },
    });
    expect(verifies).toBe(0);
    expect(await remaining()).toBe(10);
  });

  it("is refused, and its code not used, when other attempts' failures throttled the principal while it was hashed", async () => {
    // Admitted with five failures counted (all free), then the sixth, another attempt's, lands
    // while this one's hash runs: the transaction that would use the code sees the backoff.
    await failures(PRINCIPAL.freeFailures);
    beforeVerify = () => failures(1);
    const outcome = await outcomeOf(
      other.recoveryCodes.verify(service, "acme", "alice", { code: codes[0]! }),
    );
    expect(verifies).toBe(1);
    expect(outcome).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: backoffSeconds(PRINCIPAL, PRINCIPAL.freeFailures + 1) },
    });
    expect(await remaining()).toBe(10);
  });

  it("is refused without being hashed when its set is locked", async () => {
    const at = h.clock.now().toISOString();
    await h.store.transaction(async (r) => {
      for (let n = 0; n < RECOVERY_CODE_FAILURE_LIMIT; n += 1) {
        await r.recoveryCodes.recordFailure("acme", "alice", RECOVERY_CODE_FAILURE_LIMIT, at);
      }
    });
    const outcome = await outcomeOf(
      other.recoveryCodes.verify(service, "acme", "alice", { code: codes[0]! }),
    );
    expect(outcome.code).toBe("recovery_code.locked");
    expect(verifies).toBe(0);
  });

  it("is a wrong code, not a used one, when its set was replaced while it was hashed", async () => {
    beforeVerify = async () => {
      await provedMfaJustNow(h, "acme", "alice");
      await h.app.recoveryCodes.generate(service, "acme", "alice");
    };
    const outcome = await outcomeOf(
      other.recoveryCodes.verify(service, "acme", "alice", { code: codes[0]! }),
    );
    expect(verifies).toBe(1);
    expect(outcome).toEqual({ code: "recovery_code.wrong_code", details: { failedAttempts: 1 } });
    expect(await remaining()).toBe(10);
  });
});
