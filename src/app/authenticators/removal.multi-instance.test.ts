// Threat: two removals of one principal's two last methods, sent together to two instances,
// each see the other method still there and both succeed, leaving a principal whom policy
// requires to prove MFA with nothing to prove it with. Removals of one principal queue on its
// throttle row in the shared PostgreSQL database: exactly one succeeds.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openStore } from "../../storage/open-store.js";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import type { Application, Caller } from "../application.js";
import { DEFAULT_SETTINGS } from "../context.js";
import { createApplication } from "../create-application.js";
import type { Store } from "../ports.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";
import { enrolTotp, outcomeOf, rightCode } from "../test-support/totp-principals.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const unreachable = await findUnreachableReason();
const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
if (unreachable !== undefined && !inCi) {
  console.warn(
    `\n!!! PostgreSQL unreachable (${unreachable}): multi-instance removal tests skipped\n`,
  );
}

const skipped = unreachable !== undefined && !inCi;
(skipped ? describe.skip : describe)(
  skipped
    ? `Removal on two instances (skipped: no PostgreSQL reachable: ${unreachable})`
    : "Removal on two instances sharing PostgreSQL",
  () => {
    let database: TestDatabase;
    let first: Harness;
    let secondStore: Store;
    let second: Application & { close(): void };
    let service: Caller;
    let admin: Caller;

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
      service = await first.caller(["platform_service"], ["acme"]);
      admin = await first.caller(["tenant_admin"], ["acme"]);
    });
    afterAll(async () => {
      second.close();
      await secondStore.close();
      await first.close();
      await database.drop();
    });

    it("removes exactly one of a principal's two last methods removed together", async () => {
      for (let round = 0; round < 5; round += 1) {
        const principal = `user-${round}`;
        const phone = await enrolTotp(first, service, "acme", principal);
        const begun = await first.app.authenticators.beginTotp(service, "acme", principal, {});
        await first.app.authenticators.confirmTotp(
          service,
          "acme",
          principal,
          begun.authenticator.id,
          { code: rightCode(first, { ...phone, secret: begun.secret }) },
        );
        const outcomes = await Promise.all([
          outcomeOf(first.app.authenticators.remove(admin, "acme", principal, phone.id)),
          outcomeOf(second.authenticators.remove(admin, "acme", principal, begun.authenticator.id)),
        ]);
        expect(outcomes.map((o) => o.code).sort()).toEqual([
          "accepted",
          "authenticator.last_method",
        ]);
        expect(await first.app.authenticators.list(admin, "acme", principal)).toHaveLength(1);
      }
    });
  },
);
