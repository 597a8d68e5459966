// Threat: a recovery code replayed to another server instance, or submitted to two at once, is
// accepted twice (DESIGN invariant 7). Two instances share one PostgreSQL database; of concurrent
// submissions of one code through both, exactly one succeeds and the others are told
// `recovery_code.used`; a code accepted by one is refused by the other; the failure count is one
// count, whichever instance a guess reaches. The principal's backoff (shared with every method)
// is lifted before each round, so that what is proven here is the codes' single use.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import type { Application, Caller } from "../application.js";
import { DEFAULT_SETTINGS } from "../context.js";
import { createApplication } from "../create-application.js";
import { AppError } from "../errors.js";
import type { Store } from "../ports.js";
import {
  CountingRandom,
  openHarness,
  testRecoveryCodeHasher,
  type Harness,
} from "../test-support/harness.js";

const unreachable = await findUnreachableReason();
const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
if (unreachable !== undefined && !inCi) {
  console.warn(
    `\n!!! PostgreSQL unreachable (${unreachable}): multi-instance recovery-code tests skipped\n`,
  );
}

const outcome = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
};

// In CI an unreachable PostgreSQL fails the suite (beforeAll throws); elsewhere it is skipped,
// and the title says why.
const skipped = unreachable !== undefined && !inCi;
(skipped ? describe.skip : describe)(
  skipped
    ? `recovery codes on two instances (skipped: no PostgreSQL reachable: ${unreachable})`
    : "recovery codes on two instances sharing PostgreSQL",
  () => {
    let database: TestDatabase;
    let first: Harness;
    let secondStore: Store;
    let second: Application & { close(): void };
    let service: Caller;
    let codes: readonly string[];
    const verify = (app: Application, code: string) =>
      outcome(app.recoveryCodes.verify(service, "acme", "alice", { code }));
    /** Lifts the principal's backoff (and the set's count) left by the failures before. */
    const unlock = () => first.app.authenticators.unlock(first.admin, "acme", "alice");

    beforeAll(async () => {
      if (unreachable !== undefined)
        throw new Error(`PostgreSQL unreachable in CI: ${unreachable}`);
      database = await createTestDatabase();
      first = await openHarness({ url: database.url });
      secondStore = await openStore(database.url);
      second = createApplication({
        store: secondStore,
        clock: first.clock,
        random: new CountingRandom(1_000_000),
        settings: DEFAULT_SETTINGS,
        recoveryCodeHasher: testRecoveryCodeHasher,
      });
      await first.app.tenants.create(first.admin, { id: "acme", name: "Acme" });
      await first.app.principals.upsert(first.admin, "acme", "alice", { population: "direct" });
      service = await first.caller(["platform_service"], ["acme"]);
      ({ codes } = await second.recoveryCodes.generate(service, "acme", "alice"));
    });
    beforeEach(async () => {
      if (unreachable === undefined) await unlock();
    });
    afterAll(async () => {
      second.close();
      await secondStore.close();
      await first.close();
      await database.drop();
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
