import { describe, expect, it } from "vitest";
import {
  addTenant,
  fullExemption,
  minimalApiKey,
  minimalMandateVersion,
  minimalPolicyVersion,
  tenantRecord,
  uniqueId,
} from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** A lost race on a unique key is an answer (false), never an exception or an overwrite. */
export function describeUniqueInserts({ store }: ContractContext): void {
  describe("unique inserts", () => {
    it("refuses a second tenant with the same id and keeps the first", async () => {
      const id = uniqueId("tenant");
      const results = await store().transaction(async ({ tenants }) => [
        await tenants.insert(tenantRecord(id)),
        await tenants.insert({ ...tenantRecord(id), name: "Impostor" }),
      ]);
      expect(results).toEqual([true, false]);
      const kept = await store().transaction(({ tenants }) => tenants.get(id));
      expect(kept).toStrictEqual(tenantRecord(id));
    });

    it("refuses a policy version that exists and keeps the first", async () => {
      const tenant = await addTenant(store());
      const results = await store().transaction(async ({ policies }) => [
        await policies.insert(minimalPolicyVersion(tenant, 1)),
        await policies.insert({ ...minimalPolicyVersion(tenant, 1), rationale: "second" }),
      ]);
      expect(results).toEqual([true, false]);
      const kept = await store().transaction(({ policies }) => policies.get(tenant, 1));
      expect(kept).toStrictEqual(minimalPolicyVersion(tenant, 1));
    });

    it("refuses a mandate version that exists and keeps the first", async () => {
      const id = uniqueId("mandate");
      const results = await store().transaction(async ({ mandates }) => [
        await mandates.insert(minimalMandateVersion(id, 1)),
        await mandates.insert({ ...minimalMandateVersion(id, 1), rationale: "second" }),
      ]);
      expect(results).toEqual([true, false]);
      const kept = await store().transaction(({ mandates }) => mandates.current(id));
      expect(kept).toStrictEqual(minimalMandateVersion(id, 1));
    });

    it("keeps a transaction usable after a refused insert, so the caller can go on", async () => {
      const tenant = await addTenant(store());
      await store().transaction(async ({ policies }) => {
        await policies.insert(minimalPolicyVersion(tenant, 1));
      });
      await store().transaction(async ({ policies }) => {
        expect(await policies.insert(minimalPolicyVersion(tenant, 1))).toBe(false);
        expect(await policies.insert(minimalPolicyVersion(tenant, 2))).toBe(true);
      });
      const current = await store().transaction(({ policies }) => policies.current(tenant));
      expect(current?.version).toBe(2);
    });

    it("lets exactly one of two concurrent writers of the same policy version win", async () => {
      const tenant = await addTenant(store());
      const write = (rationale: string) =>
        store().transaction(({ policies }) =>
          policies.insert({ ...minimalPolicyVersion(tenant, 1), rationale }),
        );
      const results = await Promise.all([write("first"), write("second")]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const kept = await store().transaction(({ policies }) => policies.get(tenant, 1));
      expect(kept?.rationale).toBe(results[0] ? "first" : "second");
    });

    it("rejects an exemption whose id exists in the tenant rather than overwrite it", async () => {
      const tenant = await addTenant(store());
      const id = uniqueId("exemption");
      await store().transaction(({ exemptions }) => exemptions.insert(fullExemption(tenant, id)));
      await expect(
        store().transaction(({ exemptions }) => exemptions.insert(fullExemption(tenant, id))),
      ).rejects.toThrow();
    });

    it("rejects an API key whose secret hash another key has", async () => {
      const first = minimalApiKey(uniqueId("key"));
      await store().transaction(({ apiKeys }) => apiKeys.insert(first));
      const clash = { ...minimalApiKey(uniqueId("key")), secretHash: first.secretHash };
      await expect(store().transaction(({ apiKeys }) => apiKeys.insert(clash))).rejects.toThrow();
      const missing = await store().transaction(({ apiKeys }) => apiKeys.get(clash.id));
      expect(missing).toBeUndefined();
    });

    it("rejects a policy version of a tenant that does not exist", async () => {
      await expect(
        store().transaction(({ policies }) =>
          policies.insert(minimalPolicyVersion(uniqueId("ghost"), 1)),
        ),
      ).rejects.toThrow();
    });
  });
}
