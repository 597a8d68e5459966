// Threat: a TOTP code replayed to another server instance, or submitted to two at once, is
// accepted twice (RFC 6238 §5.2, DESIGN invariant 7). Two instances share one PostgreSQL
// database and one sealing key; of concurrent submissions of one code through both, exactly one
// succeeds, and a code accepted by one is refused by the other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Application, Caller } from "../application.js";
import { DEFAULT_SETTINGS } from "../context.js";
import { createApplication } from "../create-application.js";
import { AppError } from "../errors.js";
import type { Store } from "../ports.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";

const unreachable = await findUnreachableReason();
const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
if (unreachable !== undefined && !inCi) {
  console.warn(
    `\n!!! PostgreSQL unreachable (${unreachable}): multi-instance TOTP tests skipped\n`,
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
    ? `TOTP on two instances (skipped: no PostgreSQL reachable: ${unreachable})`
    : "TOTP on two instances sharing PostgreSQL",
  () => {
    let database: TestDatabase;
    let first: Harness;
    let secondStore: Store;
    let second: Application & { close(): void };
    let service: Caller;
    let secret: string;
    let id: string;

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
        secrets: first.sealer,
        totp: createTotpProtocol(),
      });
      await first.app.tenants.create(first.admin, { id: "acme", name: "Acme" });
      await first.app.principals.upsert(first.admin, "acme", "alice", { population: "direct" });
      service = await first.caller(["platform_service"], ["acme"]);
      const enrolment = await first.app.authenticators.beginTotp(service, "acme", "alice", {});
      ({ secret } = enrolment);
      id = enrolment.authenticator.id;
      await second.authenticators.confirmTotp(service, "acme", "alice", id, {
        code: oathtoolCode(secret, first.clock.now()),
      });
    });
    afterAll(async () => {
      second.close();
      await secondStore.close();
      await first.close();
      await database.drop();
    });

    it("accepts exactly one of concurrent submissions of one code through both instances", async () => {
      for (let round = 0; round < 3; round += 1) {
        first.clock.advance(30);
        const code = oathtoolCode(secret, first.clock.now());
        const outcomes = await Promise.all(
          [first.app, second, first.app, second].map((app) =>
            outcome(app.authenticators.verifyTotp(service, "acme", "alice", id, { code })),
          ),
        );
        expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "totp.replayed")).toHaveLength(3);
      }
    });

    it("refuses on one instance a code the other accepted", async () => {
      first.clock.advance(30);
      const code = oathtoolCode(secret, first.clock.now());
      expect([
        await outcome(first.app.authenticators.verifyTotp(service, "acme", "alice", id, { code })),
        await outcome(second.authenticators.verifyTotp(service, "acme", "alice", id, { code })),
      ]).toEqual(["accepted", "totp.replayed"]);
    });
  },
);
