// Threat: housekeeping that breaks the throttle under load. Two instances share PostgreSQL; each
// purges throttle rows that hold nothing while failing verifications on both hold and write
// throttle rows, some of them rows the purge is deleting. The purge must skip what a
// verification holds (no wait, so no deadlock), and every failure must still count exactly once.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { Application, Caller } from "../application.js";
import type { Store } from "../ports.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import {
  enrolTotp,
  outcomeOf,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import {
  throttleRetentionSeconds,
  VERIFICATION_THROTTLE_DEFAULTS,
} from "./verification-throttle.js";

// Many statements per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const RETENTION = throttleRetentionSeconds(VERIFICATION_THROTTLE_DEFAULTS);

describeOnPostgres(
  {
    title: "The throttle purge beside verifications on two instances sharing PostgreSQL",
    skippedTitle: "The throttle purge on two instances",
    tests: "multi-instance throttle purge tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let secondStore: Store;
    let service: Caller;

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first, second, secondStore, service } = two);
    });
    afterAll(async () => {
      await two?.close();
    });

    it("neither deadlocks nor loses a failure while both instances purge", async () => {
      const principals: EnrolledTotp[] = [];
      for (let n = 0; n < 6; n += 1) {
        principals.push(await enrolTotp(first, service, "acme", `user-${String(n)}`));
      }
      first.clock.advance(60);
      const address = (n: number) => `198.51.100.${String(10 + n)}`;
      // Rows that hold nothing any more: the principals' and their addresses' own (30 failures
      // each, long forgotten), which the verifications below will claim and write while the
      // purge wants them, and 1,500 addresses of an old spray.
      const old = new Date(first.clock.now().getTime() - (RETENTION + 86_400) * 1000);
      const failure = { at: old.toISOString(), forgetBefore: old.toISOString() };
      await first.store.transaction(async (r) => {
        for (const [n, totp] of principals.entries()) {
          for (let k = 0; k < 30; k += 1) {
            await r.verificationThrottles.recordFailure(
              "acme",
              `principal:${totp.principal}`,
              failure,
            );
            await r.verificationThrottles.recordFailure("acme", `client:${address(n)}`, failure);
          }
        }
        for (let k = 0; k < 1500; k += 1) {
          await r.verificationThrottles.recordFailure(
            "acme",
            `client:203.0.${String(k >> 8)}.${String(k & 255)}`,
            failure,
          );
        }
      });

      const before = new Date(first.clock.now().getTime() - RETENTION * 1000).toISOString();
      // Small batches, so that the purges run all through the verifications.
      const purgeAll = async (store: Store) => {
        let total = 0;
        for (;;) {
          const purged = await store.transaction((r) => r.verificationThrottles.purge(before, 25));
          total += purged;
          if (purged === 0) return total;
        }
      };
      // Four wrong codes per principal, from its address, through both instances at once:
      // within the free failures of either key, so each is checked and counted.
      const verifications = principals.flatMap((totp, n) =>
        Array.from({ length: 4 }, (_, k) =>
          outcomeOf(
            (k % 2 === 0 ? first.app : second).authenticators.verifyTotp(
              service,
              "acme",
              totp.principal,
              totp.id,
              { code: wrongCode(first, totp), clientAddress: address(n) },
            ),
          ),
        ),
      );
      const [outcomes] = await Promise.all([
        Promise.all(verifications),
        purgeAll(first.store),
        purgeAll(secondStore),
      ]);

      expect(outcomes.map((o) => o.code)).toEqual(Array<string>(24).fill("totp.wrong_code"));
      // The spray's rows all went, through these purges or the instances' own (each instance's
      // first verification runs one), and nothing else did.
      expect(await purgeAll(first.store)).toBe(0);
      const counts = await first.store.transaction(async (r) => {
        const found: (number | undefined)[] = [];
        for (const [n, totp] of principals.entries()) {
          found.push(
            (await r.verificationThrottles.get("acme", `principal:${totp.principal}`))
              ?.consecutiveFailures,
            (await r.verificationThrottles.get("acme", `client:${address(n)}`))
              ?.consecutiveFailures,
          );
        }
        for (const spray of ["client:203.0.0.0", "client:203.0.2.255", "client:203.0.5.219"]) {
          found.push((await r.verificationThrottles.get("acme", spray))?.consecutiveFailures);
        }
        return found;
      });
      expect(counts).toEqual([...Array<number>(12).fill(4), undefined, undefined, undefined]);
      const failures = await first.app.audit.list(
        first.admin,
        "acme",
        { type: "authenticator.verification_failed" },
        { limit: 100 },
      );
      expect(failures.items).toHaveLength(24);
      expect(
        failures.items.map((e) => e.payload.principalFailures as number).sort((x, y) => x - y),
      ).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4]);
      expect((await first.app.audit.verify(first.admin, { tenant: "acme" })).ok).toBe(true);
    });
  },
);
