// Threat: two removals of one principal's two last methods, sent together to two instances,
// each see the other method still there and both succeed, leaving a principal whom policy
// requires to prove MFA with nothing to prove it with. Removals of one principal queue on its
// throttle row in the shared PostgreSQL database: exactly one succeeds.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { Application, Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { enrolTotp, outcomeOf, rightCode } from "../test-support/totp-principals.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

describeOnPostgres(
  {
    title: "Removal on two instances sharing PostgreSQL",
    skippedTitle: "Removal on two instances",
    tests: "multi-instance removal tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    let admin: Caller;

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first, second, service } = two);
      admin = await first.caller(["tenant_admin"], ["acme"]);
    });
    afterAll(async () => {
      await two?.close();
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
