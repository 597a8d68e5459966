import { describe, expect, it } from "vitest";
import type { Store } from "../../app/ports.js";
import { addTenant, at } from "./fixtures.js";
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
 * failures count exactly N), a monotonic backoff, a lock set once, success and clearing.
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
