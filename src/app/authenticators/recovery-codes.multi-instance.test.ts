// Threat: a recovery code replayed to another server instance, or submitted to two at once, is
// accepted twice (DESIGN invariant 7). Two instances share one PostgreSQL database; of concurrent
// submissions of one code through both, exactly one succeeds and the others are told
// `recovery_code.used`; a code accepted by one is refused by the other; the failure count is one
// count, whichever instance a guess reaches. The principal's backoff (shared with every method)
// is lifted before each round, so that what is proven here is the codes' single use.
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import type { Application, Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  postgresUnreachable,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";

/** What a call ended with: `accepted`, or the error's code. */
const outcome = async (promise: Promise<unknown>): Promise<string> =>
  (await outcomeOf(promise)).code;

describeOnPostgres(
  {
    title: "recovery codes on two instances sharing PostgreSQL",
    skippedTitle: "recovery codes on two instances",
    tests: "multi-instance recovery-code tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    let codes: readonly string[];
    const verify = (app: Application, code: string) =>
      outcome(app.recoveryCodes.verify(service, "acme", "alice", { code }));
    /** Lifts the principal's backoff (and the set's count) left by the failures before. */
    const unlock = () => first.app.authenticators.unlock(first.admin, "acme", "alice");

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, second, service } = two);
      ({ codes } = await second.recoveryCodes.generate(service, "acme", "alice"));
    });
    beforeEach(async () => {
      if (postgresUnreachable === undefined) await unlock();
    });
    afterAll(async () => {
      await two?.close();
    });

    it("accepts exactly one of concurrent submissions of one code through both instances", async () => {
      for (const code of codes.slice(0, 3)) {
        await unlock();
        const outcomes = await Promise.all(
          [first.app, second, first.app, second].map((app) => verify(app, code)),
        );
        expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "recovery_code.used")).toHaveLength(3);
      }
      const status = await second.recoveryCodes.status(service, "acme", "alice");
      expect(status.remaining).toBe(7);
    });

    it("refuses on one instance a code the other accepted", async () => {
      const code = codes[5]!;
      expect([await verify(first.app, code), await verify(second, code)]).toEqual([
        "accepted",
        "recovery_code.used",
      ]);
    });

    it("keeps one failure count across both instances", async () => {
      const before = (await first.app.recoveryCodes.status(service, "acme", "alice"))
        .failedAttempts;
      await Promise.all(
        [first.app, second, first.app, second, first.app, second].map((app) =>
          verify(app, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"),
        ),
      );
      const after = await second.recoveryCodes.status(service, "acme", "alice");
      expect(after.failedAttempts).toBe(before + 6);
    });

    it("a new set generated on one instance voids the old codes on the other", async () => {
      const old = codes[8]!;
      const fresh = await first.app.recoveryCodes.generate(service, "acme", "alice");
      expect(await verify(second, old)).toBe("recovery_code.wrong_code");
      expect(await verify(second, fresh.codes[0]!)).toBe("accepted");
    });
  },
);
