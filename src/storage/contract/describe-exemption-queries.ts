import { beforeAll, describe, expect, it } from "vitest";
import type { ExemptionFilter } from "../../app/ports.js";
import type { ExemptionRecord } from "../../app/records.js";
import { addTenant, at, DAY, HOUR, minimalExemption, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

const T = at(DAY);

/** Filters select exactly the exemptions they name; updates are compare-and-set on status. */
export function describeExemptionQueries({ store }: ContractContext): void {
  describe("exemption queries", () => {
    let tenant = "";
    // Named by what the filters should make of them at instant T.
    const records = (owner: string): ExemptionRecord[] => [
      minimalExemption(owner, "active", {
        status: "approved",
        startsAt: at(DAY - HOUR),
        expiresAt: at(DAY + HOUR),
      }),
      minimalExemption(owner, "starts-at-t", {
        status: "approved",
        startsAt: T,
        expiresAt: at(2 * DAY),
        principal: "bob",
      }),
      minimalExemption(owner, "expires-at-t", {
        status: "approved",
        startsAt: at(0),
        expiresAt: T,
        category: "break_glass",
      }),
      minimalExemption(owner, "future", {
        status: "approved",
        startsAt: at(DAY + 1),
        expiresAt: at(2 * DAY),
      }),
      minimalExemption(owner, "requested", { startsAt: at(0), expiresAt: at(2 * DAY) }),
      minimalExemption(owner, "revoked", {
        status: "revoked",
        startsAt: at(0),
        expiresAt: at(2 * DAY),
        principal: "bob",
        category: "break_glass",
      }),
    ];

    beforeAll(async () => {
      tenant = await addTenant(store());
      await store().transaction(async ({ exemptions }) => {
        for (const record of records(tenant)) await exemptions.insert(record);
      });
    });

    const ids = async (filter: ExemptionFilter) => {
      const page = await store().transaction(({ exemptions }) =>
        exemptions.list(tenant, filter, { limit: 100 }),
      );
      return page.items.map((record) => record.id);
    };

    it.each<[string, ExemptionFilter, string[]]>([
      ["the principal", { principal: "bob" }, ["revoked", "starts-at-t"]],
      ["the status", { status: "approved" }, ["active", "expires-at-t", "future", "starts-at-t"]],
      ["the category", { category: "break_glass" }, ["expires-at-t", "revoked"]],
      ["principal and status", { principal: "bob", status: "approved" }, ["starts-at-t"]],
    ])("lists only the exemptions matching %s", async (_, filter, expected) => {
      expect(await ids(filter)).toEqual(expected);
    });

    it("counts an exemption active from its start, up to but not at its expiry, if approved", async () => {
      expect(await ids({ activeAt: T })).toEqual(["active", "starts-at-t"]);
    });

    it("reads an activeAt instant in any ISO 8601 form with a zone", async () => {
      expect(await ids({ activeAt: "2030-01-02T01:00:00+01:00" })).toEqual([
        "active",
        "starts-at-t",
      ]);
    });

    it("combines activeAt with the other filters", async () => {
      expect(await ids({ activeAt: T, principal: "svc-ledger" })).toEqual(["active"]);
    });

    it("replaces an exemption whose status is still the expected one", async () => {
      const id = uniqueId("exemption");
      const requested = minimalExemption(tenant, id);
      const approved: ExemptionRecord = {
        ...requested,
        status: "approved",
        approvedBy: "approver@example.org",
        decidedBy: "approver@example.org",
        decidedAt: at(HOUR),
      };
      await store().transaction(({ exemptions }) => exemptions.insert(requested));
      const updated = await store().transaction(({ exemptions }) =>
        exemptions.update(approved, "requested"),
      );
      expect(updated).toBe(true);
      const read = await store().transaction(({ exemptions }) => exemptions.get(tenant, id));
      expect(read).toStrictEqual(approved);
    });

    it("leaves an exemption untouched when its status is no longer the expected one", async () => {
      const id = uniqueId("exemption");
      const revoked = minimalExemption(tenant, id, { status: "revoked" });
      await store().transaction(({ exemptions }) => exemptions.insert(revoked));
      const updated = await store().transaction(({ exemptions }) =>
        exemptions.update({ ...revoked, status: "approved" }, "requested"),
      );
      expect(updated).toBe(false);
      const read = await store().transaction(({ exemptions }) => exemptions.get(tenant, id));
      expect(read).toStrictEqual(revoked);
    });

    it("reports false when updating an exemption that does not exist", async () => {
      const ghost = minimalExemption(tenant, uniqueId("exemption"));
      const updated = await store().transaction(({ exemptions }) =>
        exemptions.update(ghost, "requested"),
      );
      expect(updated).toBe(false);
      const read = await store().transaction(({ exemptions }) => exemptions.get(tenant, ghost.id));
      expect(read).toBeUndefined();
    });

    it("lets exactly one of two concurrent deciders win", async () => {
      const id = uniqueId("exemption");
      const requested = minimalExemption(tenant, id);
      await store().transaction(({ exemptions }) => exemptions.insert(requested));
      const decide = (status: ExemptionRecord["status"]) =>
        store().transaction(({ exemptions }) =>
          exemptions.update({ ...requested, status }, "requested"),
        );
      const [approved, rejected] = await Promise.all([decide("approved"), decide("rejected")]);
      expect([approved, rejected].filter(Boolean)).toHaveLength(1);
      const read = await store().transaction(({ exemptions }) => exemptions.get(tenant, id));
      expect(read?.status).toBe(approved ? "approved" : "rejected");
    });
  });
}
