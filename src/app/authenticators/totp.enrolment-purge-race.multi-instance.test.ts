// Threat: the purge of expired TOTP enrolments deadlocking with a confirmation on PostgreSQL. The
// purge locks the expired rows (skipping held ones) and then takes the audit chains' heads; a
// confirmation whose throttle check lifts the principal's timed-out lock appends that event (the
// tenant's head) before it deletes its own expired enrolment. If the purge holds that row, each
// waits for what the other holds, and PostgreSQL aborts one: a request answered with an error,
// an expiry unaudited. Three instances on one database: the purge held on one.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { Application, Caller } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { INSTANCE_CLOCK_DRIFT_SECONDS } from "../ports.js";
import type { Harness } from "../test-support/harness.js";
import { openPausableInstance, waitsOnLock } from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { principalKey } from "./verification-throttle.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

describeOnPostgres(
  {
    title: "the expired-enrolment purge beside a confirmation on another instance",
    skippedTitle: "the expired-enrolment purge beside a confirmation",
    tests: "the enrolment purge race tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice", "bob"] });
      ({ first, second, service } = two);
    });
    afterEach(async () => {
      await two?.close();
    });

    it("neither deadlocks when a confirmation lifting a timed-out lock removes the expired enrolment the purge holds", async () => {
      if (two === undefined) throw new Error("no instances");
      const begun = await first.app.authenticators.beginTotp(service, "acme", "alice", {});
      // Alice's principal is locked, the lock timing out before her enrolment is past its time.
      await first.store.transaction(async (r) => {
        const key = principalKey("alice");
        const at = first.clock.now().toISOString();
        await r.verificationThrottles.claim("acme", key);
        await r.verificationThrottles.recordFailure("acme", key, { at, forgetBefore: at });
        const expiresAt = new Date(first.clock.now().getTime() + 60_000).toISOString();
        expect(
          await r.verificationThrottles.lock("acme", key, { threshold: 1, at, expiresAt }),
        ).toBe(true);
      });
      first.clock.advance(600 + INSTANCE_CLOCK_DRIFT_SECONDS + 1);

      const purging = await openPausableInstance(two, { purgePending: "authenticators" });
      try {
        const gate = purging.pauseAt("purgePending");
        // Bob begins an enrolment on the third instance: the purge it runs first holds alice's row.
        const begin = purging.app.authenticators.beginTotp(service, "acme", "bob", {});
        await gate.reached;
        const confirmation = outcomeOf(
          second.authenticators.confirmTotp(service, "acme", "alice", begun.authenticator.id, {
            code: oathtoolCode(begun.secret, first.clock.now()),
          }),
        );
        expect(await waitsOnLock(two.database.name, confirmation)).toBe(true);
        gate.release();
        const [began, confirmed] = await Promise.allSettled([begin, confirmation]);
        expect(began.status === "rejected" ? began.reason : "begun").toBe("begun");
        expect(confirmed.status === "fulfilled" ? confirmed.value.code : confirmed.reason).toMatch(
          /^(authenticator\.enrolment_expired|not_found)$/,
        );
        const expiries = await first.store.read((r) =>
          r.audit.read(chainOf("acme"), {
            limit: 100,
            filter: { type: "authenticator.enrolment_expired" },
          }),
        );
        expect(expiries).toHaveLength(1);
      } finally {
        await purging.close();
      }
    });
  },
);
