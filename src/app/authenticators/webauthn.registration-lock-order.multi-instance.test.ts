// Threat: two writes on one principal deadlock on PostgreSQL, and the loser answers a 500. Every
// binding of a method takes the principal's throttle row first (removal-rules.ts); beginning a
// passkey registration then stores its challenge, and now and then purges the expired challenges
// of everyone, the principal's own among them. Finishing a registration used to consume its
// challenge (deleting the row) before claiming the principal's row: a finish whose ceremony was
// alive when it was verified, and expired by the time another registration of the principal
// began on another instance, held the challenge and waited for the principal's row, while the
// beginning held the principal's row and waited in its purge for that challenge. Both orders are
// forced here, on two instances sharing PostgreSQL: the finish paused just after its challenge's
// delete, the beginning started and seen waiting on a lock, then the finish released.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { untilWaitingOnLock } from "../../storage/postgres/test-support/test-database.js";
import type { Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import { openPausableInstance, type PausableInstance } from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import { principalKey } from "./verification-throttle.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/**
 * `accepted`, or the error's code; a store failure (a deadlock the database broke, answered as
 * `store.unavailable`, a 503) with its cause.
 */
async function outcome(promise: Promise<unknown>): Promise<string> {
  const { code, details } = await outcomeOf(promise);
  const cause = details?.cause;
  return typeof cause === "string" ? `${code}: ${cause}` : code;
}

describeOnPostgres(
  {
    title: "The lock order of passkey registrations on two instances sharing PostgreSQL",
    skippedTitle: "The lock order of passkey registrations",
    tests: "multi-instance registration lock-order tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let service: Caller;
    /** A third instance, whose transaction stops just after it deletes a challenge. */
    let finisher: PausableInstance<"consume"> | undefined;

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, service } = two);
      finisher = await openPausableInstance(two, { consume: "webauthnChallenges" });
    });
    afterAll(async () => {
      await finisher?.close();
      await two?.close();
    });

    it("finishes a registration while another of the principal begins and purges its expired challenge", async () => {
      if (two === undefined || finisher === undefined) throw new Error("no instances");
      const begun = await first.app.webauthn.beginRegistration(service, "acme", "alice");
      const response = new SoftAuthenticator({ origin: "https://mfa.test" }).register(
        begun.options,
      );
      // The principal proved MFA just before beginning the second registration below (set up
      // now: the finish will hold the principal's row then), which binds another method on its
      // behalf after the first.
      const ttl = Date.parse(begun.expiresAt) - first.clock.now().getTime();
      const secondBegins = new Date(first.clock.now().getTime() + ttl + 1000);
      await first.store.transaction((r) =>
        r.verificationThrottles.recordSuccess(
          "acme",
          principalKey("alice"),
          secondBegins.toISOString(),
        ),
      );

      // Verified while its ceremony is alive; paused once its challenge is deleted.
      const at = finisher.pauseAt("consume");
      const finishing = outcome(
        finisher.app.webauthn.finishRegistration(service, "acme", "alice", begun.registration, {
          response,
        }),
      );
      await at.reached;
      // The ceremony has expired by the time the principal begins another, on the first
      // instance, whose purge (due: its last ran at the first beginning) deletes it.
      first.clock.advance((secondBegins.getTime() - first.clock.now().getTime()) / 1000);
      const beginning = outcome(first.app.webauthn.beginRegistration(service, "acme", "alice"));
      // The beginning queues on a row the paused finish holds: which one depends on the order.
      await untilWaitingOnLock(two.database.name);
      at.release();

      expect([await finishing, await beginning]).toEqual(["accepted", "accepted"]);
      const registered = await first.app.authenticators.list(service, "acme", "alice");
      expect(registered.map((a) => a.kind)).toEqual(["webauthn"]);
      expect((await first.app.audit.verify(first.admin, { tenant: "acme" })).ok).toBe(true);
    });
  },
);
