import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { collectChanges } from "./describe-change-notifications.js";
import { addTenant, tenantRecord, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/**
 * What a store opened with `detectNesting` refuses, naming the bug: work started inside one of
 * its own transactions, which would wait for itself forever, and an announcement that would go
 * out before the commit. Production stores do not look (it costs every promise), so only stores
 * opened to detect nesting run these.
 */
export function describeNestingRefusals({ store }: ContractContext): void {
  describe("nesting refusals", () => {
    it("refuses a transaction started inside another of the same store, instead of deadlocking", async () => {
      const tenant = uniqueId("tenant");
      await store().transaction(async ({ tenants }) => {
        await expect(store().transaction(() => Promise.resolve())).rejects.toThrow(
          /inside a transaction of the same store/,
        );
        await tenants.insert(tenantRecord(tenant));
      });
      const committed = await store().transaction(({ tenants }) => tenants.get(tenant));
      expect(committed).toBeDefined();
    });

    it("refuses a read inside a transaction of the same store", async () => {
      const tenant = await addTenant(store());
      await store().transaction(async ({ tenants }) => {
        await expect(store().read(({ tenants: t }) => t.get(tenant))).rejects.toThrow(
          /inside a transaction of the same store/,
        );
        await tenants.get(tenant);
      });
    });

    it("refuses notify inside a transaction, which would announce before the commit", async () => {
      const tenant = uniqueId("tenant");
      const { received, unsubscribe } = collectChanges(store(), tenant);
      await store().transaction(async () => {
        await expect(store().notify({ kind: "policy", tenant })).rejects.toThrow(
          /inside a transaction of the same store/,
        );
      });
      await sleep(50);
      expect(received).toEqual([]);
      unsubscribe();
    });
  });
}
