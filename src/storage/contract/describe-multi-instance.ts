import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Store } from "../../app/ports.js";
import { collectChanges, DELIVERY } from "./describe-change-notifications.js";
import { appendOne, chainLink, findChainBreak, tenantRecord, uniqueId } from "./fixtures.js";
import { openSecondInstance, type ContractContext } from "./store-harness.js";

/**
 * Several instances on one database (PostgreSQL): appends stay fork-free and gap-free across
 * them, and a change announced by one reaches the listeners of all. Described only for stores
 * that several instances share (`ContractOptions.sharedByInstances`).
 */
export function describeMultiInstance({ store, harness }: ContractContext): void {
  describe("several instances on one database", () => {
    let second: Store | undefined;

    beforeAll(async () => {
      second = await openSecondInstance(harness());
    });

    afterAll(async () => {
      await second?.close();
    });

    const other = (): Store => {
      if (second === undefined) throw new Error("The second instance did not open");
      return second;
    };

    it("appends concurrently from two instances without fork or gap", async () => {
      const instances = [store(), other()];
      const chain = uniqueId("chain");
      await Promise.all(
        Array.from({ length: 50 }, (_, index) => appendOne(instances[index % 2] ?? store(), chain)),
      );
      const events = await store().transaction(({ audit }) =>
        audit.read(chain, { afterSeq: 0, limit: 100 }),
      );
      expect(events).toHaveLength(50);
      expect(findChainBreak(events)).toBeUndefined();
    });

    it("appends batches concurrently from two instances without fork or gap", async () => {
      const instances = [store(), other()];
      const chain = uniqueId("chain");
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          (instances[index % 2] ?? store()).transaction(({ audit }) =>
            audit.appendMany(
              chain,
              Array.from({ length: 1 + (index % 5) }, () => chainLink(chain)),
            ),
          ),
        ),
      );
      const events = await store().transaction(({ audit }) =>
        audit.read(chain, { afterSeq: 0, limit: 100 }),
      );
      expect(events).toHaveLength(60);
      expect(findChainBreak(events)).toBeUndefined();
    });

    it("delivers a change announced by one instance to the listeners of both", async () => {
      const tenant = uniqueId("tenant");
      const onSecond = collectChanges(other(), tenant);
      const onFirst = collectChanges(store(), tenant);
      await store().notify({ kind: "policy", tenant });
      await vi.waitFor(() => {
        expect(onSecond.received).toEqual([{ kind: "policy", tenant }]);
        expect(onFirst.received).toEqual([{ kind: "policy", tenant }]);
      }, DELIVERY);
      onSecond.unsubscribe();
      onFirst.unsubscribe();
    });

    it("lets one instance read what the other committed", async () => {
      const id = uniqueId("tenant");
      await store().transaction(({ tenants }) => tenants.insert(tenantRecord(id)));
      const read = await other().transaction(({ tenants }) => tenants.get(id));
      expect(read).toStrictEqual(tenantRecord(id));
    });
  });
}
