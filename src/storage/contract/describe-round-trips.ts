import { describe, expect, it } from "vitest";
import {
  addTenant,
  appendOne,
  fullApiKey,
  fullExemption,
  fullMandateVersion,
  fullPolicyVersion,
  fullPrincipal,
  minimalApiKey,
  minimalExemption,
  minimalMandateVersion,
  minimalPolicyVersion,
  minimalPrincipal,
  receipt,
  tenantRecord,
  uniqueId,
} from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** Every record reads back exactly as written, with its optional fields present or absent. */
export function describeRoundTrips({ store }: ContractContext): void {
  describe("round trips", () => {
    it("reads back a tenant as inserted", async () => {
      const record = tenantRecord(uniqueId("tenant"));
      await store().transaction(({ tenants }) => tenants.insert(record));
      expect(await store().transaction(({ tenants }) => tenants.get(record.id))).toStrictEqual(
        record,
      );
    });

    it.each([
      ["every optional field", fullPolicyVersion],
      ["no optional field", minimalPolicyVersion],
    ])("reads back a policy version with %s", async (_, build) => {
      const tenant = await addTenant(store());
      const record = build(tenant, 1);
      await store().transaction(({ policies }) => policies.insert(record));
      const [byVersion, current] = await store().transaction(({ policies }) =>
        Promise.all([policies.get(tenant, 1), policies.current(tenant)]),
      );
      expect(byVersion).toStrictEqual(record);
      expect(current).toStrictEqual(record);
    });

    it.each([
      ["every optional field", fullMandateVersion],
      ["no optional field", minimalMandateVersion],
    ])("reads back a mandate version with %s", async (_, build) => {
      const record = build(uniqueId("mandate"), 1);
      await store().transaction(({ mandates }) => mandates.insert(record));
      const current = await store().transaction(({ mandates }) => mandates.current(record.id));
      expect(current).toStrictEqual(record);
    });

    it.each([
      ["every optional field", fullPrincipal],
      ["no optional field", minimalPrincipal],
    ])("reads back a principal with %s", async (_, build) => {
      const tenant = await addTenant(store());
      const record = build(tenant, uniqueId("principal"));
      await store().transaction(({ principals }) => principals.upsert(record));
      const read = await store().transaction(({ principals }) => principals.get(tenant, record.id));
      expect(read).toStrictEqual(record);
    });

    it("replaces a principal on upsert, dropping fields the new record lacks", async () => {
      const tenant = await addTenant(store());
      const id = uniqueId("principal");
      const replacement = { ...minimalPrincipal(tenant, id), population: "direct" as const };
      await store().transaction(async ({ principals }) => {
        await principals.upsert(fullPrincipal(tenant, id));
        await principals.upsert(replacement);
      });
      const read = await store().transaction(({ principals }) => principals.get(tenant, id));
      expect(read).toStrictEqual(replacement);
    });

    it("moves a principal's proofsWithdrawnAt and proofsWithdrawnSeq only forward and only through withdrawProofs", async () => {
      const tenant = await addTenant(store());
      const id = uniqueId("principal");
      const record = fullPrincipal(tenant, id);
      const withdrawn = () =>
        store().transaction(async ({ principals }) => {
          const read = await principals.get(tenant, id);
          return { at: read?.proofsWithdrawnAt, seq: read?.proofsWithdrawnSeq };
        });
      const withdraw = (at: string, seq: number, who = id) =>
        store().transaction(({ principals }) =>
          principals.withdrawProofs(tenant, who, { at, seq }),
        );
      await store().transaction(({ principals }) => principals.upsert(record));
      expect(await withdrawn()).toEqual({ at: undefined, seq: undefined });
      const later = "2026-03-01T10:00:00.000Z";
      expect(await withdraw(later, 40)).toBe(true);
      expect(await withdrawn()).toEqual({ at: later, seq: 40 });
      // An earlier instant (a clock set back) leaves the instant, and the position still moves
      // on: each only forward, each on its own.
      expect(await withdraw("2026-02-01T10:00:00.000Z", 41)).toBe(true);
      expect(await withdrawn()).toEqual({ at: later, seq: 41 });
      const latest = "2026-04-01T10:00:00.000Z";
      expect(await withdraw(latest, 7)).toBe(true);
      expect(await withdrawn()).toEqual({ at: latest, seq: 41 });
      // An update built on a read from before the withdrawal cannot undo it.
      await store().transaction(({ principals }) => principals.upsert(record));
      expect(await withdrawn()).toEqual({ at: latest, seq: 41 });
      expect(await withdraw(later, 50, uniqueId("nobody"))).toBe(false);
      // A position is a chain's: a whole number from 1.
      for (const seq of [0, 1.5, Number.NaN]) {
        await expect(withdraw(latest, seq)).rejects.toThrow(RangeError);
      }
      expect(await withdrawn()).toEqual({ at: latest, seq: 41 });
    });

    it.each([
      ["every optional field", fullExemption],
      ["no optional field", (tenant: string, id: string) => minimalExemption(tenant, id)],
    ])("reads back an exemption with %s", async (_, build) => {
      const tenant = await addTenant(store());
      const record = build(tenant, uniqueId("exemption"));
      await store().transaction(({ exemptions }) => exemptions.insert(record));
      const read = await store().transaction(({ exemptions }) => exemptions.get(tenant, record.id));
      expect(read).toStrictEqual(record);
    });

    it("reads back a receipt with the engine's whole decision", async () => {
      const record = receipt(uniqueId("tenant"), uniqueId("dec"));
      await store().transaction(({ receipts }) => receipts.insert(record));
      const read = await store().transaction(({ receipts }) => receipts.get(record.id));
      expect(read).toStrictEqual(record);
      expect(read?.decision.requirement).not.toBeNull();
    });

    // Audit verification reads the receipts a page of events names, and counts each tenant's.
    it("reads back the receipts of a list of ids, and counts each tenant's", async () => {
      const [one, two] = [uniqueId("tenant"), uniqueId("tenant")];
      const records = [receipt(one, uniqueId("dec")), receipt(one, uniqueId("dec"))];
      const other = receipt(two, uniqueId("dec"));
      await store().transaction(({ receipts }) => receipts.insertMany([...records, other]));
      const read = await store().read(({ receipts }) =>
        receipts.getMany([...records.map((r) => r.id), uniqueId("dec")]),
      );
      expect([...read].sort((a, b) => (a.id < b.id ? -1 : 1))).toStrictEqual(
        [...records].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      expect(await store().read(({ receipts }) => receipts.getMany([]))).toEqual([]);
      const all = await store().read(({ receipts }) => receipts.countByTenant());
      expect([all.get(one), all.get(two)]).toEqual([2, 1]);
    });

    it.each([
      ["every optional field and a tenant list", fullApiKey],
      ["no optional field and all tenants", minimalApiKey],
    ])("reads back an API key with %s, by id and by secret hash", async (_, build) => {
      const record = build(uniqueId("key"));
      await store().transaction(({ apiKeys }) => apiKeys.insert(record));
      const [byId, byHash, listed] = await store().transaction(({ apiKeys }) =>
        Promise.all([
          apiKeys.get(record.id),
          apiKeys.getBySecretHash(record.secretHash),
          apiKeys.list(),
        ]),
      );
      expect(byId).toStrictEqual(record);
      expect(byHash).toStrictEqual(record);
      expect(listed.find((key) => key.id === record.id)).toStrictEqual(record);
    });

    it("revokes an API key once, keeping the first revocation time", async () => {
      const record = minimalApiKey(uniqueId("key"));
      await store().transaction(({ apiKeys }) => apiKeys.insert(record));
      const [first, second, missing] = await store().transaction(async ({ apiKeys }) => [
        await apiKeys.revoke(record.id, "2030-02-01T00:00:00.000Z"),
        await apiKeys.revoke(record.id, "2030-03-01T00:00:00.000Z"),
        await apiKeys.revoke(uniqueId("key"), "2030-03-01T00:00:00.000Z"),
      ]);
      expect([first, second, missing]).toEqual([true, false, false]);
      const read = await store().transaction(({ apiKeys }) => apiKeys.get(record.id));
      expect(read).toStrictEqual({ ...record, revokedAt: "2030-02-01T00:00:00.000Z" });
    });

    it.each([
      ["a tenant", "acme"],
      ["no tenant", null],
    ])("reads back an audit event with %s", async (_, tenant) => {
      const chain = uniqueId("chain");
      const payload = { before: { minAal: 1 }, after: { minAal: 2 }, note: null };
      const event = await appendOne(store(), chain, { tenant, payload });
      const read = await store().transaction(({ audit }) =>
        audit.read(chain, { afterSeq: 0, limit: 10 }),
      );
      expect(read).toStrictEqual([event]);
      expect(event.tenant).toBe(tenant);
    });

    it("writes times in toISOString() form, whatever ISO 8601 form they came in", async () => {
      const tenant = await addTenant(store());
      const record = minimalExemption(tenant, uniqueId("exemption"), {
        startsAt: "2030-01-01T01:00:00+01:00",
        expiresAt: "2030-01-02T00:00:00Z",
      });
      await store().transaction(({ exemptions }) => exemptions.insert(record));
      const read = await store().transaction(({ exemptions }) => exemptions.get(tenant, record.id));
      expect(read).toMatchObject({
        startsAt: "2030-01-01T00:00:00.000Z",
        expiresAt: "2030-01-02T00:00:00.000Z",
      });
    });

    it("refuses a time without a zone rather than guess one", async () => {
      const tenant = await addTenant(store());
      const record = minimalExemption(tenant, uniqueId("exemption"), {
        expiresAt: "2030-01-02T00:00:00",
      });
      await expect(
        store().transaction(({ exemptions }) => exemptions.insert(record)),
      ).rejects.toThrow(/expiresAt is not an ISO 8601 time/);
    });

    it("returns undefined for what does not exist", async () => {
      const missing = uniqueId("missing");
      const found = await store().transaction((repositories) =>
        Promise.all([
          repositories.tenants.get(missing),
          repositories.policies.current(missing),
          repositories.policies.get(missing, 1),
          repositories.mandates.current(missing),
          repositories.principals.get(missing, missing),
          repositories.exemptions.get(missing, missing),
          repositories.receipts.get(missing),
          repositories.apiKeys.get(missing),
          repositories.apiKeys.getBySecretHash(missing),
        ]),
      );
      expect(found).toEqual(Array.from({ length: 9 }, () => undefined));
    });
  });
}
