// Threat (SP 800-63B §3.2.2, checklist N5): guesses past the lock. On PostgreSQL, a TOTP
// submission that read its authenticator before queueing on the principal's row, behind the
// failure that locks the authenticator, judged its code against the unlocked copy it had read: a
// right code was answered `totp.replayed` and a wrong one `totp.wrong_code` (telling a guess
// apart after the lock, where `totp.locked` is due), the failure was counted past the limit and
// `authenticator.locked` audited twice. The authenticator is now read with the principal's row
// held. One instance pauses the locking failure before it commits; another's submission is seen
// waiting on the lock before the pause ends.
import { beforeAll, expect, it } from "vitest";
import type { Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import {
  openPausableInstance,
  waitsOnLock,
  type PausableInstance,
} from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import { TOTP_FAILURE_LIMIT } from "./authenticators.js";

describeOnPostgres(
  {
    title: "a TOTP submission queued behind the failure that locks its authenticator",
    skippedTitle: "a TOTP submission queued behind the failure that locks its authenticator",
    tests: "the multi-instance TOTP lock race test",
  },
  () => {
    let two: TwoInstances;
    let first: Harness;
    let service: Caller;
    let paused: PausableInstance<"recordFailure">;
    let totp: EnrolledTotp;

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, service } = two);
      totp = await enrolTotp(first, service, "acme", "alice");
      first.clock.advance(120);
      // 99 failures on the authenticator (e.g. over weeks, the principal's own count reset by
      // successes with another method): the next one locks it.
      const at = first.clock.now().toISOString();
      await first.store.transaction(async (r) => {
        for (let k = 0; k < TOTP_FAILURE_LIMIT - 1; k += 1)
          await r.authenticators.recordFailure("acme", "alice", totp.id, TOTP_FAILURE_LIMIT, at);
      });
      paused = await openPausableInstance(two, { recordFailure: "authenticators" });
      return async () => {
        await paused.close();
        await two.close();
      };
    });

    it("answers totp.locked to a submission queued behind the failure that locked the authenticator", async () => {
      const gate = paused.pauseAt("recordFailure");
      // A: the 100th failure; stops after counting it (authenticator locked, not committed),
      // holding the principal's throttle row.
      const a = outcomeOf(
        paused.app.authenticators.verifyTotp(service, "acme", "alice", totp.id, {
          code: wrongCode(first, totp),
        }),
      );
      await gate.reached;
      // B: the right code, through another instance, reads the authenticator (unlocked as
      // committed) and queues on the principal's row.
      const b = outcomeOf(
        two.second.authenticators.verifyTotp(service, "acme", "alice", totp.id, {
          code: rightCode(first, totp),
        }),
      );
      expect(await waitsOnLock(two.database.name, b)).toBe(true);
      gate.release();
      const [outA, outB] = await Promise.all([a, b]);
      const stored = await first.store.transaction((r) =>
        r.authenticators.get("acme", "alice", totp.id),
      );
      const audit = await first.app.audit.list(first.admin, "acme", {}, { limit: 500 });
      const locks = audit.items.filter((e) => e.type === "authenticator.locked");
      expect({
        a: outA.code,
        b: outB.code,
        failedAttempts: stored?.failedAttempts,
        lockEvents: locks.length,
      }).toEqual({
        a: "totp.wrong_code",
        b: "totp.locked",
        failedAttempts: TOTP_FAILURE_LIMIT,
        lockEvents: 1,
      });
    });
  },
);
