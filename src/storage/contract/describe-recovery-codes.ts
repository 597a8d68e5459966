import { describe, expect, it } from "vitest";
import type { RecoveryCodeRecord } from "../../app/records.js";
import { addTenant, at, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

export const codes = (tenant: string, set: string, principal = "alice"): RecoveryCodeRecord[] =>
  ["AAAA", "BBBB", "CCCC"].map((locator) => ({
    tenant,
    principal,
    set,
    locator,
    hash: `$scrypt$ln=10,r=8,p=1$salt${locator}$hash${locator}`,
  }));

export const setOf = (tenant: string, id: string, seconds = 0, principal = "alice") => ({
  tenant,
  principal,
  id,
  createdAt: at(seconds),
});

/**
 * Recovery codes: round trip, tenant isolation, set replacement, single use by compare-and-set
 * (also under concurrent submissions), the failure count and lock, revocation.
 */
export function describeRecoveryCodes({ store }: ContractContext): void {
  describe("recovery codes", () => {
    const issue = async (tenant: string, principal = "alice") => {
      const id = uniqueId("rcs");
      await store().transaction(({ recoveryCodes }) =>
        recoveryCodes.replace(setOf(tenant, id, 0, principal), codes(tenant, id, principal)),
      );
      return id;
    };

    it("stores a set and its codes and reads them back as written", async () => {
      const tenant = await addTenant(store());
      const id = await issue(tenant);
      const read = await store().transaction(async ({ recoveryCodes }) => ({
        status: await recoveryCodes.status(tenant, "alice"),
        found: await recoveryCodes.find(tenant, "alice", "BBBB"),
        missing: await recoveryCodes.find(tenant, "alice", "ZZZZ"),
      }));
      const set = { tenant, principal: "alice", id, createdAt: at(0), failedAttempts: 0 };
      expect(read).toStrictEqual({
        status: { set, total: 3, remaining: 3 },
        found: { set, code: codes(tenant, id)[1] },
        missing: { set },
      });
    });

    it("keeps sets and codes within their tenant and principal", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const id = await issue(a);
      const seen = await store().transaction(async ({ recoveryCodes }) => ({
        statusB: await recoveryCodes.status(b, "alice"),
        statusBob: await recoveryCodes.status(a, "bob"),
        findB: await recoveryCodes.find(b, "alice", "AAAA"),
        useB: await recoveryCodes.use(b, "alice", id, "AAAA", at(1)),
        useBob: await recoveryCodes.use(a, "bob", id, "AAAA", at(1)),
        failureB: await recoveryCodes.recordFailure(b, "alice", 100, at(1)),
        revokeB: await recoveryCodes.revoke(b, "alice"),
        revokeBob: await recoveryCodes.revoke(a, "bob"),
      }));
      expect(seen).toEqual({
        statusB: undefined,
        statusBob: undefined,
        findB: undefined,
        useB: false,
        useBob: false,
        failureB: undefined,
        revokeB: false,
        revokeBob: false,
      });
      expect(
        await store().transaction(({ recoveryCodes }) => recoveryCodes.status(a, "alice")),
      ).toMatchObject({ set: { id, failedAttempts: 0 }, remaining: 3 });
    });

    it("never lets a use, unlock, replacement or revocation touch the set of another tenant or principal, even under the same set id", async () => {
      const [a, b, c] = [
        await addTenant(store()),
        await addTenant(store()),
        await addTenant(store()),
      ];
      const shared = uniqueId("rcs");
      const holders: [string, string][] = [
        [a, "alice"],
        [a, "bob"],
        [b, "alice"],
        [c, "alice"],
      ];
      await store().transaction(async ({ recoveryCodes }) => {
        for (const [tenant, principal] of holders) {
          await recoveryCodes.replace(
            setOf(tenant, shared, 0, principal),
            codes(tenant, shared, principal),
          );
        }
        await recoveryCodes.recordFailure(a, "alice", 100, at(1));
        await recoveryCodes.recordFailure(a, "alice", 100, at(2));
        await recoveryCodes.recordFailure(c, "alice", 1, at(2));
      });
      const before = await store().read(({ recoveryCodes }) => recoveryCodes.status(a, "alice"));
      const replacement = uniqueId("rcs");
      const seen = await store().transaction(async ({ recoveryCodes }) => {
        const used = [
          await recoveryCodes.use(b, "alice", shared, "AAAA", at(3)),
          await recoveryCodes.use(a, "bob", shared, "BBBB", at(3)),
          await recoveryCodes.use(c, "alice", shared, "CCCC", at(3)),
        ];
        const unlocked = await recoveryCodes.unlock(b, "alice");
        await recoveryCodes.replace(setOf(b, replacement, 4), codes(b, replacement));
        return { used, unlocked, revoked: await recoveryCodes.revoke(b, "alice") };
      });
      expect(seen).toEqual({ used: [true, true, false], unlocked: false, revoked: true });
      expect(before).toMatchObject({ set: { id: shared, failedAttempts: 2 }, remaining: 3 });
      expect(
        await store().read(async ({ recoveryCodes }) => ({
          status: await recoveryCodes.status(a, "alice"),
          found: (await recoveryCodes.find(a, "alice", "AAAA"))?.code,
        })),
      ).toStrictEqual({ status: before, found: codes(a, shared)[0] });
    });

    it("replaces a set: the earlier codes are gone, the count carries over, last use is cleared", async () => {
      const tenant = await addTenant(store());
      const first = await issue(tenant);
      await store().transaction(async ({ recoveryCodes }) => {
        await recoveryCodes.use(tenant, "alice", first, "AAAA", at(5));
        await recoveryCodes.recordFailure(tenant, "alice", 100, at(6));
      });
      const second = uniqueId("rcs");
      const after = await store().transaction(async ({ recoveryCodes }) => {
        await recoveryCodes.replace(setOf(tenant, second, 10), codes(tenant, second));
        return {
          status: await recoveryCodes.status(tenant, "alice"),
          oldCode: await recoveryCodes.use(tenant, "alice", first, "BBBB", at(11)),
          found: (await recoveryCodes.find(tenant, "alice", "AAAA"))?.code,
        };
      });
      expect(after).toStrictEqual({
        status: {
          set: { tenant, principal: "alice", id: second, createdAt: at(10), failedAttempts: 1 },
          total: 3,
          remaining: 3,
        },
        oldCode: false,
        found: codes(tenant, second)[0],
      });
    });

    it("uses a code once, clears the failure count, and refuses codes of a locked set", async () => {
      const tenant = await addTenant(store());
      const id = await issue(tenant);
      const results = await store().transaction(async ({ recoveryCodes }) => {
        await recoveryCodes.recordFailure(tenant, "alice", 100, at(1));
        return [
          await recoveryCodes.use(tenant, "alice", id, "AAAA", at(2)),
          await recoveryCodes.use(tenant, "alice", id, "AAAA", at(3)),
          await recoveryCodes.use(tenant, "alice", "rcs_other", "BBBB", at(3)),
          await recoveryCodes.use(tenant, "alice", id, "ZZZZ", at(3)),
        ];
      });
      expect(results).toEqual([true, false, false, false]);
      const read = await store().transaction(async ({ recoveryCodes }) => ({
        status: await recoveryCodes.status(tenant, "alice"),
        code: (await recoveryCodes.find(tenant, "alice", "AAAA"))?.code?.usedAt,
      }));
      expect(read).toMatchObject({
        status: { set: { failedAttempts: 0, lastUsedAt: at(2) }, remaining: 2 },
        code: at(2),
      });
      const locked = await store().transaction(async ({ recoveryCodes }) => {
        await recoveryCodes.recordFailure(tenant, "alice", 1, at(4));
        return recoveryCodes.use(tenant, "alice", id, "BBBB", at(5));
      });
      expect(locked).toBe(false);
    });

    it("accepts exactly one of concurrent submissions of one code", async () => {
      const tenant = await addTenant(store());
      const id = await issue(tenant);
      for (const locator of ["AAAA", "BBBB", "CCCC"]) {
        const outcomes = await Promise.all(
          [0, 1, 2, 3].map(() =>
            store().transaction(({ recoveryCodes }) =>
              recoveryCodes.use(tenant, "alice", id, locator, at(1)),
            ),
          ),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
      }
      expect(
        await store().transaction(({ recoveryCodes }) => recoveryCodes.status(tenant, "alice")),
      ).toMatchObject({ remaining: 0 });
    });

    it("counts failures, locks at the limit and counts none after, and a use before it resets the count", async () => {
      const tenant = await addTenant(store());
      const id = await issue(tenant);
      const fail = (n: number) =>
        store().transaction(({ recoveryCodes }) =>
          recoveryCodes.recordFailure(tenant, "alice", 3, at(n)),
        );
      expect([await fail(1), await fail(2)]).toEqual([
        { failedAttempts: 1 },
        { failedAttempts: 2 },
      ]);
      await store().transaction(({ recoveryCodes }) =>
        recoveryCodes.use(tenant, "alice", id, "AAAA", at(3)),
      );
      expect([await fail(4), await fail(5), await fail(6), await fail(7)]).toEqual([
        { failedAttempts: 1 },
        { failedAttempts: 2 },
        { failedAttempts: 3, lockedAt: at(6) },
        undefined,
      ]);
      expect(await Promise.all([8, 9, 10, 11].map(fail))).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      expect(
        await store().transaction(({ recoveryCodes }) => recoveryCodes.status(tenant, "alice")),
      ).toMatchObject({ set: { failedAttempts: 3, lockedAt: at(6) } });
    });

    it("counts concurrent failures each once up to the limit", async () => {
      const tenant = await addTenant(store());
      await issue(tenant);
      const concurrent = await Promise.all(
        [1, 2, 3, 4].map((n) =>
          store().transaction(({ recoveryCodes }) =>
            recoveryCodes.recordFailure(tenant, "alice", 10, at(n)),
          ),
        ),
      );
      expect(concurrent.map((c) => c?.failedAttempts).sort()).toEqual([1, 2, 3, 4]);
    });

    it("lets exactly one of concurrent replacements be current, with only its codes", async () => {
      const tenant = await addTenant(store());
      await issue(tenant);
      const ids = [uniqueId("rcs"), uniqueId("rcs"), uniqueId("rcs")];
      await Promise.all(
        ids.map((id) =>
          store().transaction(({ recoveryCodes }) =>
            recoveryCodes.replace(setOf(tenant, id), codes(tenant, id)),
          ),
        ),
      );
      const status = await store().transaction(({ recoveryCodes }) =>
        recoveryCodes.status(tenant, "alice"),
      );
      expect(ids).toContain(status?.set.id);
      expect(status).toMatchObject({ total: 3, remaining: 3 });
      const losers = ids.filter((id) => id !== status?.set.id);
      const usable = await store().transaction(async ({ recoveryCodes }) =>
        Promise.all(losers.map((id) => recoveryCodes.use(tenant, "alice", id, "AAAA", at(1)))),
      );
      expect(usable).toEqual([false, false]);
    });

    it("unlocks a set: its lock and count go, its codes stay; nothing to lift answers false", async () => {
      const tenant = await addTenant(store());
      const id = await issue(tenant);
      await issue(tenant, "bob");
      const results = await store().transaction(async ({ recoveryCodes }) => {
        await recoveryCodes.recordFailure(tenant, "alice", 2, at(1));
        await recoveryCodes.recordFailure(tenant, "alice", 2, at(2));
        await recoveryCodes.recordFailure(tenant, "bob", 5, at(2));
        return [
          await recoveryCodes.use(tenant, "alice", id, "AAAA", at(3)),
          await recoveryCodes.unlock(tenant, "alice"),
          await recoveryCodes.unlock(tenant, "alice"),
          await recoveryCodes.unlock(tenant, "carol"),
          await recoveryCodes.use(tenant, "alice", id, "AAAA", at(4)),
        ];
      });
      expect(results).toEqual([false, true, false, false, true]);
      const status = await store().transaction(async ({ recoveryCodes }) => [
        await recoveryCodes.status(tenant, "alice"),
        await recoveryCodes.status(tenant, "bob"),
      ]);
      expect(status[0]?.set.lockedAt).toBeUndefined();
      expect(status).toMatchObject([
        { set: { id, failedAttempts: 0 }, remaining: 2 },
        { set: { failedAttempts: 1 }, remaining: 3 },
      ]);
    });

    it("revokes a set with its codes and its count", async () => {
      const tenant = await addTenant(store());
      const id = await issue(tenant);
      const results = await store().transaction(async ({ recoveryCodes }) => {
        await recoveryCodes.recordFailure(tenant, "alice", 1, at(1));
        return [
          await recoveryCodes.revoke(tenant, "alice"),
          await recoveryCodes.revoke(tenant, "alice"),
          await recoveryCodes.status(tenant, "alice"),
          await recoveryCodes.use(tenant, "alice", id, "AAAA", at(2)),
          await recoveryCodes.recordFailure(tenant, "alice", 1, at(2)),
        ];
      });
      expect(results).toEqual([true, false, undefined, false, undefined]);
      const reissued = await issue(tenant);
      expect(
        await store().transaction(({ recoveryCodes }) => recoveryCodes.status(tenant, "alice")),
      ).toMatchObject({ set: { id: reissued, failedAttempts: 0 }, remaining: 3 });
    });
  });
}
