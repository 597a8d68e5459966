import { beforeAll, describe, expect, it } from "vitest";
import {
  addTenant,
  appendOne,
  fullExemption,
  fullPrincipal,
  minimalPolicyVersion,
  minimalPrincipal,
} from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/**
 * A row of tenant A is never returned for tenant B, whichever method or filter asks, even when
 * both tenants use the same ids (invariant 5 rests on this).
 */
export function describeTenantIsolation({ store }: ContractContext): void {
  describe("tenant isolation", () => {
    let a = "";
    let b = "";
    const shared = "same-principal-id";
    const onlyA = "principal-of-a";
    const exemptionOfA = "exemption-of-a";

    beforeAll(async () => {
      a = await addTenant(store(), "tenant_a");
      b = await addTenant(store(), "tenant_b");
      await store().transaction(async (repositories) => {
        await repositories.principals.upsert(fullPrincipal(a, shared));
        await repositories.principals.upsert(minimalPrincipal(b, shared));
        await repositories.principals.upsert(fullPrincipal(a, onlyA));
        await repositories.policies.insert(minimalPolicyVersion(a, 1));
        await repositories.exemptions.insert({
          ...fullExemption(a, exemptionOfA),
          principal: shared,
        });
      });
    });

    it("gives each tenant its own principal under a shared id", async () => {
      const [ofA, ofB] = await store().transaction(({ principals }) =>
        Promise.all([principals.get(a, shared), principals.get(b, shared)]),
      );
      expect(ofA).toStrictEqual(fullPrincipal(a, shared));
      expect(ofB).toStrictEqual(minimalPrincipal(b, shared));
    });

    it("never returns a principal of A when B asks for it or lists its own", async () => {
      const [got, page] = await store().transaction(({ principals }) =>
        Promise.all([principals.get(b, onlyA), principals.list(b, { limit: 100 })]),
      );
      expect(got).toBeUndefined();
      expect(page.items).toStrictEqual([minimalPrincipal(b, shared)]);
    });

    it("never returns A's policy versions to B", async () => {
      const [current, version, history] = await store().transaction(({ policies }) =>
        Promise.all([policies.current(b), policies.get(b, 1), policies.history(b, { limit: 10 })]),
      );
      expect(current).toBeUndefined();
      expect(version).toBeUndefined();
      expect(history.items).toEqual([]);
    });

    it.each([
      ["no filter", {}],
      ["the principal", { principal: shared }],
      ["the status", { status: "approved" as const }],
      ["the category", { category: "legacy_integration" as const }],
      ["an instant it is active at", { activeAt: "2030-01-01T12:00:00.000Z" }],
    ])("never lists A's exemptions to B when filtering by %s", async (_, filter) => {
      const [ofA, ofB] = await store().transaction(({ exemptions }) =>
        Promise.all([
          exemptions.list(a, filter, { limit: 100 }),
          exemptions.list(b, filter, { limit: 100 }),
        ]),
      );
      expect(ofA.items.map((record) => record.id)).toEqual([exemptionOfA]);
      expect(ofB.items).toEqual([]);
    });

    it("never returns A's exemption to B by id, nor lets B update it", async () => {
      const stolen = { ...fullExemption(b, exemptionOfA), status: "revoked" as const };
      const [got, updated] = await store().transaction(async ({ exemptions }) => [
        await exemptions.get(b, exemptionOfA),
        await exemptions.update(stolen, "approved"),
      ]);
      expect(got).toBeUndefined();
      expect(updated).toBe(false);
      const kept = await store().transaction(({ exemptions }) => exemptions.get(a, exemptionOfA));
      expect(kept?.status).toBe("approved");
    });

    it("keeps each tenant's audit chain apart", async () => {
      await appendOne(store(), `tenant:${a}`, { tenant: a });
      const ofB = await store().transaction(({ audit }) =>
        audit.read(`tenant:${b}`, { afterSeq: 0, limit: 10 }),
      );
      expect(ofB).toEqual([]);
    });
  });
}
