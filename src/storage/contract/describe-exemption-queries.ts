import { beforeAll, describe, expect, it } from "vitest";
import type { ExemptionFilter, Repositories, Store } from "../../app/ports.js";
import type { ExemptionRecord } from "../../app/records.js";
import {
  addTenant,
  at,
  DAY,
  fullPrincipal,
  HOUR,
  minimalExemption,
  minimalPrincipal,
  uniqueId,
} from "./fixtures.js";
import { doneWhileHeld as runWhileHeld } from "./done-while-held.js";
import type { ContractContext } from "./store-harness.js";

const T = at(DAY);

/** Filters select exactly the exemptions they name; updates are compare-and-set on status. */
export function describeExemptionQueries({ store, harness }: ContractContext): void {
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

    it("lists those not expired at an instant, whatever their status and start, expiry excluded", async () => {
      expect(await ids({ unexpiredAt: T })).toEqual([
        "active",
        "future",
        "requested",
        "revoked",
        "starts-at-t",
      ]);
      expect(await ids({ unexpiredAt: "2030-01-02T01:00:00+01:00", status: "requested" })).toEqual([
        "requested",
      ]);
      expect(await ids({ unexpiredAt: at(2 * DAY) })).toEqual([]);
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

  describe("exemptions requested by a key", () => {
    // What a key's revocation withdraws: its requests still awaiting a decision, in every tenant.
    it("lists a key's requests awaiting a decision in every tenant, by tenant then id, a page at a time", async () => {
      const key = uniqueId("key");
      const first = await addTenant(store(), "ra");
      const second = await addTenant(store(), "rb");
      const byKey = { requestedBy: key };
      await store().transaction(async ({ exemptions }) => {
        for (const record of [
          minimalExemption(second, "a", byKey),
          minimalExemption(first, "b", byKey),
          minimalExemption(first, "a", byKey),
          minimalExemption(first, "approved", {
            ...byKey,
            status: "approved",
            approvedBy: "approver@example.org",
          }),
          minimalExemption(first, "rejected", { ...byKey, status: "rejected" }),
          minimalExemption(first, "revoked", { ...byKey, status: "revoked" }),
          minimalExemption(first, "other-key", { requestedBy: uniqueId("key") }),
        ]) {
          await exemptions.insert(record);
        }
      });
      const all = await store().transaction(({ exemptions }) =>
        exemptions.listRequestedBy(key, { limit: 100 }),
      );
      expect(all.items.map((e) => `${e.tenant}/${e.id}`)).toEqual([
        `${first}/a`,
        `${first}/b`,
        `${second}/a`,
      ]);
      expect(all.next).toBeUndefined();
      expect(all.items[2]).toStrictEqual(minimalExemption(second, "a", byKey));

      const walked: string[] = [];
      let after: string | undefined;
      do {
        const page = await store().transaction(({ exemptions }) =>
          exemptions.listRequestedBy(key, { ...(after === undefined ? {} : { after }), limit: 1 }),
        );
        expect(page.items).toHaveLength(1);
        walked.push(...page.items.map((e) => `${e.tenant}/${e.id}`));
        after = page.next;
      } while (after !== undefined);
      expect(walked).toEqual(all.items.map((e) => `${e.tenant}/${e.id}`));
    });

    it("lists nothing for a key that requested nothing", async () => {
      const page = await store().transaction(({ exemptions }) =>
        exemptions.listRequestedBy(uniqueId("key"), { limit: 10 }),
      );
      expect(page).toEqual({ items: [] });
    });
  });

  describe("exemptions in force and overlapping a window", () => {
    let tenant = "";
    const approved = { status: "approved", approvedBy: "approver@example.org" } as const;
    const revokedAt = (seconds: number) =>
      ({
        status: "revoked",
        approvedBy: "approver@example.org",
        decidedBy: "owner@example.org",
        decidedAt: at(seconds),
      }) as const;
    // Each named by what it is; windows in days from the epoch of the fixtures.
    const records = (owner: string): ExemptionRecord[] => [
      minimalExemption(owner, "day-0-1", { ...approved, startsAt: at(0), expiresAt: at(DAY) }),
      minimalExemption(owner, "day-3-5", {
        ...approved,
        startsAt: at(3 * DAY),
        expiresAt: at(5 * DAY),
      }),
      minimalExemption(owner, "requested-2-4", { startsAt: at(2 * DAY), expiresAt: at(4 * DAY) }),
      minimalExemption(owner, "revoked-at-2.5", {
        ...revokedAt(2.5 * DAY),
        startsAt: at(2 * DAY),
        expiresAt: at(4 * DAY),
      }),
      minimalExemption(owner, "revoked-before-start", {
        ...revokedAt(DAY),
        startsAt: at(2 * DAY),
        expiresAt: at(4 * DAY),
      }),
      minimalExemption(owner, "revoked-unapproved", {
        status: "revoked",
        decidedAt: at(3 * DAY),
        startsAt: at(2 * DAY),
        expiresAt: at(4 * DAY),
      }),
      minimalExemption(owner, "other-principal", {
        ...approved,
        principal: "bob",
        startsAt: at(2 * DAY),
        expiresAt: at(4 * DAY),
      }),
    ];

    beforeAll(async () => {
      tenant = await addTenant(store());
      await store().transaction(async ({ exemptions }) => {
        for (const record of records(tenant)) await exemptions.insert(record);
      });
    });

    const inForce = async (from: number, to: number, limit = 100) => {
      const found = await store().transaction(({ exemptions }) =>
        exemptions.listInForce(tenant, "svc-ledger", { from: at(from), to: at(to) }, limit),
      );
      return found.map((record) => record.id);
    };

    it.each<[string, number, number, string[]]>([
      ["everything", 0, 10 * DAY, ["day-0-1", "revoked-at-2.5", "day-3-5"]],
      ["both ends included", DAY, 3 * DAY, ["day-0-1", "revoked-at-2.5", "day-3-5"]],
      ["a revoked exemption up to its revocation", 2.4 * DAY, 2.5 * DAY, ["revoked-at-2.5"]],
      ["nothing after a revocation", 2.6 * DAY, 2.9 * DAY, []],
    ])("lists the principal's exemptions in force: %s", async (_, from, to, expected) => {
      expect(await inForce(from, to)).toEqual(expected);
    });

    it("lists at most the limit, by start", async () => {
      expect(await inForce(0, 10 * DAY, 2)).toEqual(["day-0-1", "revoked-at-2.5"]);
    });

    it("counts the tenant's approved exemptions overlapping a window, ends excluded", async () => {
      const count = (from: number, to: number) =>
        store().transaction(({ exemptions }) =>
          exemptions.countApprovedOverlapping(tenant, { from: at(from), to: at(to) }),
        );
      expect(await count(0, 10 * DAY)).toBe(3);
      expect(await count(DAY, 3 * DAY)).toBe(1);
      expect(await count(0.5 * DAY, 3.5 * DAY)).toBe(3);
      expect(await count(5 * DAY, 6 * DAY)).toBe(0);
    });
  });

  const doneWhileHeld = (
    hold: (repositories: Repositories) => Promise<void>,
    other: (second: Store) => Promise<unknown>,
  ) => runWhileHeld(harness(), hold, other);

  describe("exemption holds", () => {
    let tenant = "";
    const approved = (id: string) =>
      minimalExemption(tenant, id, { status: "approved", approvedBy: "approver@example.org" });
    const holdOf =
      (id: string) =>
      async ({ exemptions }: Repositories) => {
        expect((await exemptions.hold(tenant, id))?.status).toBe("approved");
      };

    beforeAll(async () => {
      tenant = await addTenant(store());
    });

    it("reads an exemption as get does, and none of another tenant's", async () => {
      const record = approved(uniqueId("exemption"));
      const other = await addTenant(store());
      await store().transaction(({ exemptions }) => exemptions.insert(record));
      const [held, got, ofOther, missing] = await store().transaction(async ({ exemptions }) => [
        await exemptions.hold(tenant, record.id),
        await exemptions.get(tenant, record.id),
        await exemptions.hold(other, record.id),
        await exemptions.hold(tenant, uniqueId("no-such-exemption")),
      ]);
      expect(held).toStrictEqual(record);
      expect(got).toStrictEqual(held);
      expect(ofOther).toBeUndefined();
      expect(missing).toBeUndefined();
    });

    it("holds an exemption against a change until the transaction ends, on every instance", async () => {
      const record = approved(uniqueId("exemption"));
      await store().transaction(({ exemptions }) => exemptions.insert(record));
      const revoke = (s: Store) =>
        s.transaction(({ exemptions }) =>
          exemptions.update({ ...record, status: "revoked" }, "approved"),
        );
      expect(await doneWhileHeld(holdOf(record.id), revoke)).toBe(false);
      const read = await store().transaction(({ exemptions }) => exemptions.get(tenant, record.id));
      expect(read?.status).toBe("revoked");
    });

    it("holds up no other holder of the exemption", async () => {
      const record = approved(uniqueId("exemption"));
      await store().transaction(({ exemptions }) => exemptions.insert(record));
      const holdAgain = (s: Store) => s.transaction(holdOf(record.id));
      // SQLite runs one write transaction at a time, and has no second instance here.
      expect(await doneWhileHeld(holdOf(record.id), holdAgain)).toBe(
        harness().openSecond !== undefined,
      );
    });
  });

  // Principals are held the same way: an update built on what it read (the shared-login mark
  // kept when an update leaves it out) must not overwrite a change committed meanwhile.
  describe("principal holds and first registrations", () => {
    it("holds a principal against another writer until the transaction ends, on every instance", async () => {
      const tenant = await addTenant(store());
      const record = minimalPrincipal(tenant, uniqueId("principal"));
      await store().transaction(({ principals }) => principals.upsert(record));
      const holdIt = async ({ principals }: Repositories) => {
        expect((await principals.hold(tenant, record.id))?.id).toBe(record.id);
      };
      const mark = (s: Store) =>
        s.transaction(({ principals }) => principals.upsert({ ...record, sharedLogin: true }));
      expect(await doneWhileHeld(holdIt, mark)).toBe(false);
      const read = await store().transaction(({ principals }) => principals.get(tenant, record.id));
      expect(read?.sharedLogin).toBe(true);
    });

    it("registers a principal once: a second first registration writes nothing", async () => {
      const tenant = await addTenant(store());
      const id = uniqueId("principal");
      const first = { ...fullPrincipal(tenant, id), sharedLogin: true as const };
      const results = await store().transaction(async ({ principals }) => [
        await principals.insert(first),
        await principals.insert(minimalPrincipal(tenant, id)),
      ]);
      expect(results).toEqual([true, false]);
      const read = await store().transaction(({ principals }) => principals.get(tenant, id));
      expect(read).toStrictEqual(first);
    });
  });

  // What a check of the principal (a flow's code exchange under an exemption: not marked a
  // shared login since) takes, so that no mark commits unseen between its read and its commit.
  describe("principal shared holds", () => {
    let tenant = "";
    const registered = async () => {
      const record = minimalPrincipal(tenant, uniqueId("principal"));
      await store().transaction(({ principals }) => principals.upsert(record));
      return record;
    };
    const holdSharedOf =
      (id: string) =>
      async ({ principals }: Repositories) => {
        expect((await principals.holdShared(tenant, id))?.id).toBe(id);
      };

    beforeAll(async () => {
      tenant = await addTenant(store());
    });

    it("reads a principal as get does, and none of another tenant's", async () => {
      const record = fullPrincipal(tenant, uniqueId("principal"));
      const other = await addTenant(store());
      await store().transaction(({ principals }) => principals.upsert(record));
      const [held, got, ofOther, missing] = await store().transaction(async ({ principals }) => [
        await principals.holdShared(tenant, record.id),
        await principals.get(tenant, record.id),
        await principals.holdShared(other, record.id),
        await principals.holdShared(tenant, uniqueId("no-such-principal")),
      ]);
      expect(held).toStrictEqual(record);
      expect(got).toStrictEqual(held);
      expect(ofOther).toBeUndefined();
      expect(missing).toBeUndefined();
    });

    it("holds a principal against a change until the transaction ends, on every instance", async () => {
      const record = await registered();
      const mark = (s: Store) =>
        s.transaction(({ principals }) => principals.upsert({ ...record, sharedLogin: true }));
      expect(await doneWhileHeld(holdSharedOf(record.id), mark)).toBe(false);
      const read = await store().transaction(({ principals }) => principals.get(tenant, record.id));
      expect(read?.sharedLogin).toBe(true);
    });

    it("makes a shared hold wait for a change under way, and then reads it", async () => {
      const record = await registered();
      let read: boolean | undefined;
      const marking = async ({ principals }: Repositories) => {
        expect((await principals.hold(tenant, record.id))?.sharedLogin).toBeUndefined();
        await principals.upsert({ ...record, sharedLogin: true });
      };
      const holdOnSecond = (s: Store) =>
        s.transaction(async ({ principals }) => {
          read = (await principals.holdShared(tenant, record.id))?.sharedLogin;
        });
      expect(await doneWhileHeld(marking, holdOnSecond)).toBe(false);
      expect(read).toBe(true);
    });

    it("holds up no other shared holder of the principal", async () => {
      const record = await registered();
      const holdAgain = (s: Store) => s.transaction(holdSharedOf(record.id));
      // SQLite runs one write transaction at a time, and has no second instance here.
      expect(await doneWhileHeld(holdSharedOf(record.id), holdAgain)).toBe(
        harness().openSecond !== undefined,
      );
    });
  });

  describe("tenant locks", () => {
    /** {@link doneWhileHeld} with `tenant` locked. */
    const doneWhileLocked = (tenant: string, other: (second: Store) => Promise<unknown>) =>
      doneWhileHeld(async ({ tenants }) => {
        expect(await tenants.lock(tenant)).toBe(true);
      }, other);

    it("holds a tenant until the transaction ends, on every instance", async () => {
      const tenant = await addTenant(store());
      const lockAgain = (s: Store) => s.transaction(({ tenants }) => tenants.lock(tenant));
      expect(await doneWhileLocked(tenant, lockAgain)).toBe(false);
    });

    it("holds up neither other tenants nor the locked tenant's other rows", async () => {
      const tenant = await addTenant(store());
      const other = await addTenant(store());
      const writeBeside = (s: Store) =>
        s.transaction(async ({ tenants, exemptions }) => {
          await tenants.lock(other);
          await exemptions.insert(minimalExemption(tenant, uniqueId("exemption")));
        });
      // SQLite runs one write transaction at a time, and has no second instance here.
      expect(await doneWhileLocked(tenant, writeBeside)).toBe(harness().openSecond !== undefined);
    });

    it("reports false for a tenant that does not exist", async () => {
      expect(
        await store().transaction(({ tenants }) => tenants.lock(uniqueId("no-such-tenant"))),
      ).toBe(false);
    });
  });
}
