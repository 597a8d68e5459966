import { describe, expect, it } from "vitest";
import type { AuthenticatorRecord } from "../../app/records.js";
import { addTenant, at, DAY, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

export function pendingTotp(
  tenant: string,
  principal = "alice",
  id = uniqueId("auth"),
): AuthenticatorRecord {
  return {
    tenant,
    principal,
    id,
    kind: "totp",
    name: "phone",
    status: "pending",
    sealedSecret: "v1.k1.aaaa.bbbb",
    totp: { algorithm: "SHA256", digits: 8, period: 30 },
    failedAttempts: 0,
    createdAt: at(0),
  };
}

/** A principal's authenticators: round trip, isolation, one-time steps, the failure count. */
export function describeAuthenticators({ store }: ContractContext): void {
  describe("authenticators", () => {
    it("stores a pending TOTP authenticator and reads it back as written", async () => {
      const tenant = await addTenant(store());
      const record = pendingTotp(tenant);
      await store().transaction(({ authenticators }) => authenticators.insert(record));
      const read = await store().transaction(async ({ authenticators }) => ({
        get: await authenticators.get(tenant, "alice", record.id),
        list: await authenticators.list(tenant, "alice"),
      }));
      expect(read).toStrictEqual({ get: record, list: [record] });
    });

    it("keeps authenticators within their tenant and principal", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const record = pendingTotp(a);
      await store().transaction(({ authenticators }) => authenticators.insert(record));
      const seen = await store().transaction(async ({ authenticators }) => ({
        otherTenant: await authenticators.get(b, "alice", record.id),
        otherPrincipal: await authenticators.get(a, "bob", record.id),
        listB: await authenticators.list(b, "alice"),
        listBob: await authenticators.list(a, "bob"),
        activate: await authenticators.activate(b, "alice", record.id, 5, at(1)),
        accept: await authenticators.acceptStep(a, "bob", record.id, 5, at(1)),
        failure: await authenticators.recordFailure(b, "alice", record.id, 100, at(1)),
        remove: await authenticators.remove(b, "alice", record.id),
      }));
      expect(seen).toEqual({
        otherTenant: undefined,
        otherPrincipal: undefined,
        listB: [],
        listBob: [],
        activate: undefined,
        accept: undefined,
        failure: undefined,
        remove: false,
      });
      expect(
        await store().transaction(({ authenticators }) =>
          authenticators.get(a, "alice", record.id),
        ),
      ).toStrictEqual(record);
    });

    it("never lets another principal accept a step on an active authenticator, nor another tenant accept a step on, count a failure on, unlock, re-seal or remove one of the same principal and id", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const ofA = pendingTotp(a);
      const ofB = pendingTotp(b, "alice", ofA.id);
      await store().transaction(async ({ authenticators }) => {
        await authenticators.insert(ofA);
        await authenticators.insert(ofB);
        await authenticators.activate(a, "alice", ofA.id, 10, at(1));
        await authenticators.recordFailure(a, "alice", ofA.id, 100, at(2));
      });
      const before = await store().read(({ authenticators }) =>
        authenticators.get(a, "alice", ofA.id),
      );
      const seen = await store().transaction(async ({ authenticators }) => ({
        otherPrincipal: await authenticators.acceptStep(a, "bob", ofA.id, 11, at(3)),
        accept: await authenticators.acceptStep(b, "alice", ofA.id, 11, at(3)),
        failure: await authenticators.recordFailure(b, "alice", ofA.id, 100, at(3)),
        unlocked: await authenticators.unlockAll(b, "alice"),
        resealed: await authenticators.reseal(b, "alice", ofA.id, ofA.sealedSecret, "v1.k2.new"),
        removed: await authenticators.remove(b, "alice", ofA.id),
      }));
      expect(seen).toEqual({
        otherPrincipal: undefined,
        accept: undefined,
        failure: { failedAttempts: 1 },
        unlocked: [ofA.id],
        resealed: true,
        removed: true,
      });
      expect(before).toMatchObject({ status: "active", lastStep: 10, failedAttempts: 1 });
      expect(
        await store().read(({ authenticators }) => authenticators.get(a, "alice", ofA.id)),
      ).toStrictEqual(before);
    });

    it("activates a pending authenticator once, then accepts only later steps", async () => {
      const tenant = await addTenant(store());
      const { id } = pendingTotp(tenant);
      const results = await store().transaction(async ({ authenticators }) => {
        await authenticators.insert(pendingTotp(tenant, "alice", id));
        const acceptWhilePending = await authenticators.acceptStep(tenant, "alice", id, 9, at(1));
        return [
          acceptWhilePending,
          await authenticators.activate(tenant, "alice", id, 10, at(2)),
          await authenticators.activate(tenant, "alice", id, 11, at(3)),
          await authenticators.acceptStep(tenant, "alice", id, 10, at(4)),
          await authenticators.acceptStep(tenant, "alice", id, 9, at(5)),
          await authenticators.acceptStep(tenant, "alice", id, 11, at(6)),
          await authenticators.acceptStep(tenant, "alice", id, 11, at(7)),
        ];
      });
      expect(results.map((result) => result !== undefined)).toEqual([
        false,
        true,
        false,
        false,
        false,
        true,
        false,
      ]);
      const record = await store().transaction(({ authenticators }) =>
        authenticators.get(tenant, "alice", id),
      );
      expect(record).toMatchObject({
        status: "active",
        lastStep: 11,
        confirmedAt: at(2),
        lastUsedAt: at(6),
      });
      // Each success returns the authenticator as that write left it.
      expect(results[1]).toMatchObject({ status: "active", lastStep: 10, lastUsedAt: at(2) });
      expect(results[5]).toStrictEqual(record);
    });

    it("never activates a pending authenticator its failures locked", async () => {
      const tenant = await addTenant(store());
      const record = pendingTotp(tenant);
      const results = await store().transaction(async ({ authenticators }) => {
        await authenticators.insert(record);
        return [
          await authenticators.recordFailure(tenant, "alice", record.id, 1, at(1)),
          await authenticators.activate(tenant, "alice", record.id, 10, at(2)),
          await authenticators.get(tenant, "alice", record.id),
        ];
      });
      expect(results).toStrictEqual([
        { failedAttempts: 1, lockedAt: at(1) },
        undefined,
        { ...record, failedAttempts: 1, lockedAt: at(1) },
      ]);
    });

    it("accepts exactly one of two concurrent submissions of one step", async () => {
      const tenant = await addTenant(store());
      const record = pendingTotp(tenant);
      await store().transaction(async ({ authenticators }) => {
        await authenticators.insert(record);
        await authenticators.activate(tenant, "alice", record.id, 100, at(1));
      });
      for (const step of [101, 102, 103]) {
        const outcomes = await Promise.all(
          [0, 1, 2, 3].map(() =>
            store().transaction(({ authenticators }) =>
              authenticators.acceptStep(tenant, "alice", record.id, step, at(step)),
            ),
          ),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
      }
    });

    it("counts failures, locks at the limit, and a success before it resets the count", async () => {
      const tenant = await addTenant(store());
      const record = pendingTotp(tenant);
      const fail = (n: number) =>
        store().transaction(({ authenticators }) =>
          authenticators.recordFailure(tenant, "alice", record.id, 3, at(n)),
        );
      await store().transaction(async ({ authenticators }) => {
        await authenticators.insert(record);
        await authenticators.activate(tenant, "alice", record.id, 1, at(1));
      });
      expect([await fail(2), await fail(3)]).toEqual([
        { failedAttempts: 1 },
        { failedAttempts: 2 },
      ]);
      expect(
        await store().transaction(({ authenticators }) =>
          authenticators.acceptStep(tenant, "alice", record.id, 2, at(4)),
        ),
      ).toMatchObject({ lastStep: 2, failedAttempts: 0 });
      expect([await fail(5), await fail(6), await fail(7), await fail(8)]).toEqual([
        { failedAttempts: 1 },
        { failedAttempts: 2 },
        { failedAttempts: 3, lockedAt: at(7) },
        { failedAttempts: 4, lockedAt: at(7) },
      ]);
      const afterLock = await store().transaction(async ({ authenticators }) => ({
        accept: await authenticators.acceptStep(tenant, "alice", record.id, 3, at(9)),
        record: await authenticators.get(tenant, "alice", record.id),
      }));
      expect(afterLock).toMatchObject({
        accept: undefined,
        record: { failedAttempts: 4, lockedAt: at(7), lastStep: 2 },
      });
    });

    it("lists a tenant's authenticators across principals, and re-seals by compare-and-set", async () => {
      const tenant = await addTenant(store());
      const other = await addTenant(store());
      const bob = pendingTotp(tenant, "bob");
      const alice = pendingTotp(tenant, "alice");
      await store().transaction(async ({ authenticators }) => {
        await authenticators.insert(bob);
        await authenticators.insert(alice);
        await authenticators.insert(pendingTotp(other));
      });
      const results = await store().transaction(async ({ authenticators }) => ({
        listed: (await authenticators.listTenant(tenant)).map((a) => a.principal),
        stale: await authenticators.reseal(tenant, "alice", alice.id, "v1.k0.old", "v1.k2.new"),
        foreign: await authenticators.reseal(other, "alice", alice.id, alice.sealedSecret, "x"),
        resealed: await authenticators.reseal(
          tenant,
          "alice",
          alice.id,
          alice.sealedSecret,
          "v1.k2.new",
        ),
        after: (await authenticators.get(tenant, "alice", alice.id))?.sealedSecret,
      }));
      expect(results).toEqual({
        listed: ["alice", "bob"],
        stale: false,
        foreign: false,
        resealed: true,
        after: "v1.k2.new",
      });
    });

    it("removes an authenticator", async () => {
      const tenant = await addTenant(store());
      const record = pendingTotp(tenant);
      await store().transaction(({ authenticators }) => authenticators.insert(record));
      const removed = await store().transaction(async ({ authenticators }) => [
        await authenticators.remove(tenant, "alice", record.id),
        await authenticators.remove(tenant, "alice", record.id),
        await authenticators.get(tenant, "alice", record.id),
      ]);
      expect(removed).toEqual([true, false, undefined]);
    });

    // The purge is store-wide: these rows are begun long before any other test's (at(0) on), so
    // that only they fall before its time.
    it("purges pending authenticators begun by the given time, in every tenant, oldest first, up to the limit; never a confirmed one", async () => {
      const [a, b] = [await addTenant(store()), await addTenant(store())];
      const begun = (tenant: string, seconds: number, principal = "alice") => ({
        ...pendingTotp(tenant, principal),
        createdAt: at(-100 * DAY + seconds),
      });
      const oldest = begun(b, 0, "bob");
      const older = begun(a, 10);
      const boundary = begun(a, 20, "carol");
      const confirmed = begun(a, 5, "dave");
      const later = begun(b, 21);
      await store().transaction(async ({ authenticators }) => {
        for (const record of [later, boundary, confirmed, older, oldest]) {
          await authenticators.insert(record);
        }
        await authenticators.activate(a, "dave", confirmed.id, 1, at(-100 * DAY + 6));
      });
      const first = await store().transaction(({ authenticators }) =>
        authenticators.purgePending(at(-100 * DAY + 20), 2),
      );
      const second = await store().transaction(({ authenticators }) =>
        authenticators.purgePending(at(-100 * DAY + 20), 2),
      );
      const left = await store().read(async ({ authenticators }) => ({
        a: (await authenticators.listTenant(a)).map((r) => r.id),
        b: (await authenticators.listTenant(b)).map((r) => r.id),
      }));
      expect({ first, second, left }).toStrictEqual({
        first: [oldest, older],
        second: [boundary],
        left: { a: [confirmed.id], b: [later.id] },
      });
      await expect(
        store().transaction(({ authenticators }) => authenticators.purgePending(at(0), 0)),
      ).rejects.toThrow(RangeError);
    });
  });
}
