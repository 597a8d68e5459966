import { describe, expect, it } from "vitest";
import type { Repositories, Store } from "../../app/ports.js";
import { doneWhileHeld } from "./done-while-held.js";
import {
  addTenant,
  fullMandateVersion,
  minimalMandateVersion,
  minimalPolicyVersion,
  uniqueId,
} from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** Versioned records: the newest version is current, and history runs newest first. */
export function describeVersions({ store, harness }: ContractContext): void {
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

  // What a check over the mandates in force (a flow's code exchange under an exemption) takes,
  // so that no new version commits unseen between its read and its commit.
  describe("mandate holds", () => {
    const insertVersion =
      (id: string, version = 1) =>
      (s: Store) =>
        s.transaction(({ mandates }) => mandates.insert(fullMandateVersion(id, version)));
    const holdThem = async ({ mandates }: Repositories) => {
      await mandates.holdCurrent();
    };

    it("reads the mandates as listCurrent does", async () => {
      const id = uniqueId("mandate");
      await insertVersion(id)(store());
      await insertVersion(id, 2)(store());
      const [held, listed] = await store().transaction(async ({ mandates }) => [
        await mandates.holdCurrent(),
        await mandates.listCurrent(),
      ]);
      expect(held).toStrictEqual(listed);
      expect(held.filter((record) => record.id === id)).toStrictEqual([fullMandateVersion(id, 2)]);
    });

    it("holds the mandates against a new version until the transaction ends, on every instance", async () => {
      const id = uniqueId("mandate");
      expect(await doneWhileHeld(harness(), holdThem, insertVersion(id))).toBe(false);
      const current = await store().transaction(({ mandates }) => mandates.current(id));
      expect(current).toStrictEqual(fullMandateVersion(id, 1));
    });

    it("makes a hold wait for a new version under way, and then reads it", async () => {
      const id = uniqueId("mandate");
      let read: readonly string[] = [];
      const holdOnSecond = (s: Store) =>
        s.transaction(async ({ mandates }) => {
          read = (await mandates.holdCurrent()).map((record) => record.id);
        });
      const writing = async ({ mandates }: Repositories) => {
        expect(await mandates.insert(fullMandateVersion(id, 1))).toBe(true);
      };
      expect(await doneWhileHeld(harness(), writing, holdOnSecond)).toBe(false);
      expect(read).toContain(id);
    });

    it("holds up no other holder of the mandates", async () => {
      const holdAgain = (s: Store) => s.transaction(holdThem);
      // SQLite runs one write transaction at a time, and has no second instance here.
      expect(await doneWhileHeld(harness(), holdThem, holdAgain)).toBe(
        harness().openSecond !== undefined,
      );
    });
  });
}
