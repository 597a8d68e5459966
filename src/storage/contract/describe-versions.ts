import { describe, expect, it } from "vitest";
import {
  addTenant,
  fullMandateVersion,
  minimalMandateVersion,
  minimalPolicyVersion,
  uniqueId,
} from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** Versioned records: the newest version is current, and history runs newest first. */
export function describeVersions({ store }: ContractContext): void {
  describe("versions", () => {
    it("makes the highest policy version current, whatever the insertion order", async () => {
      const tenant = await addTenant(store());
      await store().transaction(async ({ policies }) => {
        for (const version of [2, 3, 1])
          await policies.insert(minimalPolicyVersion(tenant, version));
      });
      const current = await store().transaction(({ policies }) => policies.current(tenant));
      expect(current?.version).toBe(3);
    });

    it("lists the newest version of every mandate, active and retired", async () => {
      const active = uniqueId("mandate");
      const retired = uniqueId("mandate");
      await store().transaction(async ({ mandates }) => {
        await mandates.insert(minimalMandateVersion(active, 1));
        await mandates.insert(fullMandateVersion(active, 2));
        await mandates.insert(fullMandateVersion(retired, 1));
        await mandates.insert(minimalMandateVersion(retired, 2));
      });
      const listed = await store().transaction(({ mandates }) => mandates.listCurrent());
      const ours = listed.filter((record) => record.id === active || record.id === retired);
      expect(ours).toStrictEqual(
        [fullMandateVersion(active, 2), minimalMandateVersion(retired, 2)].sort((a, b) =>
          a.id < b.id ? -1 : 1,
        ),
      );
    });

    it("gives a mandate's history newest first and its newest version as current", async () => {
      const id = uniqueId("mandate");
      await store().transaction(async ({ mandates }) => {
        for (const version of [1, 3, 2]) await mandates.insert(minimalMandateVersion(id, version));
      });
      const [history, current] = await store().transaction(({ mandates }) =>
        Promise.all([mandates.history(id), mandates.current(id)]),
      );
      expect(history.map((record) => record.version)).toEqual([3, 2, 1]);
      expect(current?.version).toBe(3);
    });
  });
}
