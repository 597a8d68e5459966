import { describe, expect, it } from "vitest";
import type { Store } from "../../app/ports.js";
import { addTenant, at, DAY } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

const fail = (store: Store, tenant: string, key: string, when: number, forgetBefore = -3600) =>
  store.transaction(({ verificationThrottles }) =>
    verificationThrottles.recordFailure(tenant, key, {
      at: at(when),
      forgetBefore: at(forgetBefore),
    }),
  );

/**
 * Verification throttles: isolation by tenant and key, failures counted atomically (N concurrent
 * failures count exactly N), a monotonic backoff, a lock set once, success and clearing, and the
 * purge of rows that hold nothing (bounded, never of a row a transaction holds).
 */
export function describeVerificationThrottles({ store, harness }: ContractContext): void {
  describe("verification throttles", () => {
    it("claims an empty state once and reads it back", async () => {
      const tenant = await addTenant(store());
      const results = await store().transaction(async ({ verificationThrottles }) => ({
        before: await verificationThrottles.get(tenant, "principal:alice"),
        claimed: await verificationThrottles.claim(tenant, "principal:alice"),
        again: await verificationThrottles.claim(tenant, "principal:alice"),
        after: await verificationThrottles.get(tenant, "principal:alice"),
      }));
      const empty = { tenant, key: "principal:alice", consecutiveFailures: 0 };
      expect(results).toStrictEqual({
        before: undefined,
        claimed: empty,
        again: empty,
        after: empty,
      });
    });

    it("keeps throttles within their tenant and key", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      await fail(store(), a, "principal:alice", 1);
      await fail(store(), a, "client:192.0.2.1", 1);
      const seen = await store().transaction(async ({ verificationThrottles }) => ({
        otherTenant: await verificationThrottles.get(b, "principal:alice"),
        otherKey: await verificationThrottles.get(a, "principal:bob"),
        clearOther: await verificationThrottles.clear(b, "principal:alice"),
        lockOther: await verificationThrottles.lock(b, "principal:alice", {
          threshold: 1,
          at: at(2),
          expiresAt: at(3),
        }),
        failOther: await verificationThrottles.recordFailure(b, "principal:alice", {
          at: at(2),
          forgetBefore: at(0),
        }),
      }));
      expect(seen).toStrictEqual({
        otherTenant: undefined,
        otherKey: undefined,
        clearOther: false,
        lockOther: false,
        failOther: {
          tenant: b,
          key: "principal:alice",
          consecutiveFailures: 1,
          lastFailureAt: at(2),
        },
      });
      const mine = await store().transaction(async ({ verificationThrottles }) => [
        await verificationThrottles.get(a, "principal:alice"),
        await verificationThrottles.get(a, "client:192.0.2.1"),
      ]);
      expect(mine.map((m) => [m?.key, m?.consecutiveFailures, m?.lockedAt])).toEqual([
        ["principal:alice", 1, undefined],
        ["client:192.0.2.1", 1, undefined],
      ]);
    });

    it("counts N concurrent failures exactly N, on one instance and across two", async () => {
      const tenant = await addTenant(store());
      const second = await harness().openSecond?.();
      try {
        const stores = second === undefined ? [store()] : [store(), second];
        const results = await Promise.all(
          Array.from({ length: 24 }, (_, n) =>
            fail(stores[n % stores.length] as Store, tenant, "principal:alice", 10),
          ),
        );
        expect(results.map((r) => r.consecutiveFailures).sort((x, y) => x - y)).toEqual(
          Array.from({ length: 24 }, (_, n) => n + 1),
        );
        const state = await store().transaction(({ verificationThrottles }) =>
          verificationThrottles.get(tenant, "principal:alice"),
        );
        expect(state?.consecutiveFailures).toBe(24);
      } finally {
        await second?.close();
      }
    });

    it("starts the count again after a quiet period", async () => {
      const tenant = await addTenant(store());
      await fail(store(), tenant, "principal:alice", 10, 0);
      await fail(store(), tenant, "principal:alice", 20, 0);
      // The last failure (20) is before the forget threshold (30): a new count begins.
      const after = await fail(store(), tenant, "principal:alice", 100, 30);
      expect(after).toMatchObject({ consecutiveFailures: 1, lastFailureAt: at(100) });
    });

    it("postpones the next attempt, never to an earlier time", async () => {
      const tenant = await addTenant(store());
      await fail(store(), tenant, "principal:alice", 1);
      const next = await store().transaction(async ({ verificationThrottles }) => {
        await verificationThrottles.postpone(tenant, "principal:alice", at(60));
        await verificationThrottles.postpone(tenant, "principal:alice", at(30));
        const first = (await verificationThrottles.get(tenant, "principal:alice"))?.nextAttemptAt;
        await verificationThrottles.postpone(tenant, "principal:alice", at(90));
        return [first, (await verificationThrottles.get(tenant, "principal:alice"))?.nextAttemptAt];
      });
      expect(next).toEqual([at(60), at(90)]);
    });

    it("locks once at the threshold, even when concurrent failures cross it together", async () => {
      const tenant = await addTenant(store());
      for (let n = 0; n < 8; n += 1) await fail(store(), tenant, "principal:alice", n);
      const tooFew = await store().transaction(({ verificationThrottles }) =>
        verificationThrottles.lock(tenant, "principal:alice", {
          threshold: 10,
          at: at(9),
          expiresAt: at(99),
        }),
      );
      const locks = await Promise.all(
        [0, 1, 2, 3].map((n) =>
          store().transaction(async ({ verificationThrottles }) => {
            await verificationThrottles.recordFailure(tenant, "principal:alice", {
              at: at(10 + n),
              forgetBefore: at(-3600),
            });
            return verificationThrottles.lock(tenant, "principal:alice", {
              threshold: 10,
              at: at(20),
              expiresAt: at(3620),
            });
          }),
        ),
      );
      expect(tooFew).toBe(false);
      expect(locks.filter(Boolean)).toHaveLength(1);
      const state = await store().transaction(({ verificationThrottles }) =>
        verificationThrottles.get(tenant, "principal:alice"),
      );
      expect(state).toMatchObject({
        consecutiveFailures: 12,
        lockedAt: at(20),
        lockExpiresAt: at(3620),
      });
    });

    // The purge is store-wide and other tests' rows lie around the same times, so counts are
    // asserted as at least, and each row by reading it back.
    it("purges only rows that hold nothing before the given time, in every tenant", async () => {
      const [a, b] = [await addTenant(store()), await addTenant(store())];
      await store().transaction(async (t) => {
        const v = t.verificationThrottles;
        const failure = (tenant: string, key: string, when: number) =>
          v.recordFailure(tenant, key, { at: at(when), forgetBefore: at(when - 3600) });
        await failure(a, "client:192.0.2.1", 10);
        await failure(b, "client:192.0.2.1", 10);
        await v.claim(a, "principal:empty");
        await v.recordSuccess(a, "principal:succeeded", at(10));
        await failure(a, "principal:waited", 10);
        await v.postpone(a, "principal:waited", at(20));
        // Kept: a failure or a success at or after the time, a backoff not run out, a lock.
        await failure(a, "principal:boundary", 1000);
        await failure(a, "principal:recent", 2000);
        await failure(b, "principal:recent", 2000);
        await failure(a, "principal:succeeded-lately", 10);
        await v.recordSuccess(a, "principal:succeeded-lately", at(2000));
        await v.recordSuccess(a, "principal:failed-lately", at(10));
        await failure(a, "principal:failed-lately", 2000);
        await failure(a, "principal:backing-off", 10);
        await v.postpone(a, "principal:backing-off", at(5000));
        await failure(a, "principal:locked", 10);
        await v.lock(a, "principal:locked", { threshold: 1, at: at(10), expiresAt: at(20) });
      });
      const purged = await store().transaction((t) =>
        t.verificationThrottles.purge(at(1000), 1000),
      );
      const keys = [
        [a, "client:192.0.2.1"],
        [b, "client:192.0.2.1"],
        [a, "principal:empty"],
        [a, "principal:succeeded"],
        [a, "principal:waited"],
        [a, "principal:boundary"],
        [a, "principal:recent"],
        [b, "principal:recent"],
        [a, "principal:succeeded-lately"],
        [a, "principal:failed-lately"],
        [a, "principal:backing-off"],
        [a, "principal:locked"],
      ] as const;
      const kept = await store().transaction(async (t) => {
        const found: string[] = [];
        for (const [tenant, key] of keys) {
          if ((await t.verificationThrottles.get(tenant, key)) !== undefined) {
            found.push(`${tenant === a ? "a" : "b"} ${key}`);
          }
        }
        return found;
      });
      expect(purged).toBeGreaterThanOrEqual(5);
      expect(kept).toEqual([
        "a principal:boundary",
        "a principal:recent",
        "b principal:recent",
        "a principal:succeeded-lately",
        "a principal:failed-lately",
        "a principal:backing-off",
        "a principal:locked",
      ]);
      // A lock that expired long ago is kept too: its lifting is still to be audited.
      const later = await store().transaction(async (t) => {
        await t.verificationThrottles.purge(at(30 * DAY), 1000);
        return t.verificationThrottles.get(a, "principal:locked");
      });
      expect(later).toMatchObject({ lockedAt: at(10), lockExpiresAt: at(20) });
    });

    it("purges at most the given number of rows at a time", async () => {
      const tenant = await addTenant(store());
      // Older than any other test's rows, so that these are the first the purge could take.
      const old = -400 * DAY;
      await store().transaction(async (t) => {
        for (let n = 0; n < 5; n += 1) {
          await t.verificationThrottles.recordFailure(tenant, `client:192.0.2.${String(n)}`, {
            at: at(old),
            forgetBefore: at(old - 3600),
          });
        }
      });
      const counts: number[] = [];
      for (let k = 0; k < 3; k += 1) {
        counts.push(
          await store().transaction((t) => t.verificationThrottles.purge(at(old + 1), 2)),
        );
      }
      expect(counts).toEqual([2, 2, 1]);
      await expect(
        store().transaction((t) => t.verificationThrottles.purge(at(old + 1), 0)),
      ).rejects.toThrow(RangeError);
    });

    it("never deletes a row a transaction holds, nor waits for it (PostgreSQL)", async () => {
      const tenant = await addTenant(store());
      const [principal, client] = ["principal:held", "client:192.0.2.77"];
      // The address's row first, so that a purge that waited for the held principal's row
      // would already hold the address's row, which the verification writes next: a deadlock.
      await fail(store(), tenant, client, 10);
      await fail(store(), tenant, principal, 10);
      const second = await harness().openSecond?.();
      try {
        // SQLite has one writer at a time: there the purge runs after the holder, and finds
        // both rows written again. On PostgreSQL it skips the held row at once.
        let purgeDone = false;
        let claimed = (): void => undefined;
        const claiming = new Promise<void>((resolve) => {
          claimed = resolve;
        });
        const purge = claiming.then(() =>
          (second ?? store())
            .transaction((t) => t.verificationThrottles.purge(at(1000), 1000))
            .then((count) => {
              purgeDone = true;
              return count;
            }),
        );
        const holder = store().transaction(async (t) => {
          await t.verificationThrottles.claim(tenant, principal);
          claimed();
          if (second !== undefined) await Promise.race([purge, sleep(2000)]);
          const doneWhileHeld = purgeDone;
          const counted = await t.verificationThrottles.recordFailure(tenant, principal, {
            at: at(2000),
            forgetBefore: at(-3600),
          });
          // The address's failure at 10 is forgotten by now: a count of one, purged or not.
          const address = await t.verificationThrottles.recordFailure(tenant, client, {
            at: at(2000),
            forgetBefore: at(1000),
          });
          return {
            doneWhileHeld,
            principal: counted.consecutiveFailures,
            client: address.consecutiveFailures,
          };
        });
        const [held] = await Promise.all([holder, purge]);
        expect(held).toEqual({ doneWhileHeld: second !== undefined, principal: 2, client: 1 });
        const state = await store().transaction((t) =>
          t.verificationThrottles.get(tenant, principal),
        );
        expect(state).toMatchObject({ consecutiveFailures: 2, lastFailureAt: at(2000) });
      } finally {
        await second?.close();
      }
    });

    it("a success resets the count and backoff and is remembered; clearing lifts a lock", async () => {
      const tenant = await addTenant(store());
      await fail(store(), tenant, "principal:alice", 1);
      await fail(store(), tenant, "principal:alice", 2);
      const states = await store().transaction(async ({ verificationThrottles }) => {
        await verificationThrottles.postpone(tenant, "principal:alice", at(60));
        await verificationThrottles.recordSuccess(tenant, "principal:alice", at(3));
        const succeeded = await verificationThrottles.get(tenant, "principal:alice");
        await verificationThrottles.recordSuccess(tenant, "principal:bob", at(4));
        const bob = await verificationThrottles.get(tenant, "principal:bob");
        await verificationThrottles.recordFailure(tenant, "principal:alice", {
          at: at(5),
          forgetBefore: at(0),
        });
        await verificationThrottles.lock(tenant, "principal:alice", {
          threshold: 1,
          at: at(5),
          expiresAt: at(65),
        });
        await verificationThrottles.postpone(tenant, "principal:alice", at(70));
        const cleared = await verificationThrottles.clear(tenant, "principal:alice");
        return {
          succeeded,
          bob,
          cleared,
          after: await verificationThrottles.get(tenant, "principal:alice"),
        };
      });
      expect(states).toStrictEqual({
        succeeded: {
          tenant,
          key: "principal:alice",
          consecutiveFailures: 0,
          lastFailureAt: at(2),
          lastSuccessAt: at(3),
        },
        bob: { tenant, key: "principal:bob", consecutiveFailures: 0, lastSuccessAt: at(4) },
        cleared: true,
        after: {
          tenant,
          key: "principal:alice",
          consecutiveFailures: 0,
          lastFailureAt: at(5),
          lastSuccessAt: at(3),
        },
      });
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
