import { describe, expect, it } from "vitest";
import type {
  WebAuthnChallengeRecord,
  WebAuthnCredentialRecord,
  WebAuthnSettingsRecord,
} from "../../app/records.js";
import { addTenant, at, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

export function credential(
  tenant: string,
  principal = "alice",
  credentialId = uniqueId("cred"),
): WebAuthnCredentialRecord {
  return {
    tenant,
    principal,
    id: uniqueId("auth"),
    credentialId,
    name: "YubiKey",
    publicKey: "pQECAyYgASFYIA",
    algorithm: -7,
    signCount: 4_294_967_290,
    transports: ["usb", "nfc"],
    aaguid: "2fc0579f-8113-47ea-b116-bb5a8db9202a",
    backupEligible: false,
    backupState: false,
    deviceType: "single_device",
    userVerified: true,
    failedAttempts: 0,
    createdAt: at(0),
  };
}

function challenge(tenant: string, expiresAt = at(300)): WebAuthnChallengeRecord {
  return {
    tenant,
    id: uniqueId("wauth"),
    purpose: "authentication",
    principal: "alice",
    challenge: "q5m6x0Yt3lUe0Q4HcJ0bKkD2yPnXG0d8Vw1uTqZ3c9A",
    createdAt: at(0),
    expiresAt,
  };
}

/** WebAuthn credentials, challenges and settings: isolation, one use, compare-and-set. */
export function describeWebAuthn({ store }: ContractContext): void {
  describe("webauthn", () => {
    it("stores a credential and reads it back as written, by id and by credential id", async () => {
      const tenant = await addTenant(store());
      const record = credential(tenant);
      const inserted = await store().transaction(({ webauthnCredentials }) =>
        webauthnCredentials.insert(record),
      );
      const read = await store().transaction(async ({ webauthnCredentials }) => ({
        get: await webauthnCredentials.get(tenant, "alice", record.id),
        find: await webauthnCredentials.findByCredentialId(tenant, "alice", record.credentialId),
        list: await webauthnCredentials.list(tenant, "alice"),
      }));
      expect({ inserted, ...read }).toStrictEqual({
        inserted: true,
        get: record,
        find: record,
        list: [record],
      });
    });

    it("keeps the root a credential's attestation chained to, and none for one without", async () => {
      const tenant = await addTenant(store());
      const root = "AB:".repeat(31) + "CD";
      const attested = { ...credential(tenant), attestationRoot: root };
      const plain = credential(tenant);
      await store().transaction(async ({ webauthnCredentials }) => {
        await webauthnCredentials.insert(attested);
        await webauthnCredentials.insert(plain);
      });
      const read = await store().transaction(async ({ webauthnCredentials }) => [
        (await webauthnCredentials.get(tenant, "alice", attested.id))?.attestationRoot,
        (await webauthnCredentials.get(tenant, "alice", plain.id))?.attestationRoot,
      ]);
      expect(read).toStrictEqual([root, undefined]);
    });

    it("refuses a credential id registered in the tenant, to any principal; another tenant may hold it", async () => {
      const tenant = await addTenant(store());
      const other = await addTenant(store());
      const first = credential(tenant, "alice");
      const results = await store().transaction(async ({ webauthnCredentials }) => [
        await webauthnCredentials.insert(first),
        await webauthnCredentials.insert(credential(tenant, "bob", first.credentialId)),
        await webauthnCredentials.insert(credential(tenant, "alice", first.credentialId)),
        await webauthnCredentials.insert(credential(other, "alice", first.credentialId)),
      ]);
      expect(results).toEqual([true, false, false, true]);
    });

    it("registers exactly one of concurrent registrations of one credential id", async () => {
      const tenant = await addTenant(store());
      const id = uniqueId("cred");
      const outcomes = await Promise.all(
        ["alice", "bob", "carol", "dave"].map((principal) =>
          store().transaction(({ webauthnCredentials }) =>
            webauthnCredentials.insert(credential(tenant, principal, id)),
          ),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    });

    it("keeps credentials, challenges and settings within their tenant and principal", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const record = credential(a);
      const ceremony = challenge(a);
      await store().transaction(async (r) => {
        await r.webauthnCredentials.insert(record);
        await r.webauthnChallenges.insert(ceremony);
        await r.webauthnSettings.put(settings(a));
      });
      const seen = await store().transaction(async (r) => ({
        otherTenant: await r.webauthnCredentials.get(b, "alice", record.id),
        otherPrincipal: await r.webauthnCredentials.get(a, "bob", record.id),
        findElsewhere: await r.webauthnCredentials.findByCredentialId(
          b,
          "alice",
          record.credentialId,
        ),
        findOtherPrincipal: await r.webauthnCredentials.findByCredentialId(
          a,
          "bob",
          record.credentialId,
        ),
        listB: await r.webauthnCredentials.list(b, "alice"),
        accept: await r.webauthnCredentials.acceptAssertion(
          b,
          "alice",
          record.id,
          { expected: record.signCount, next: record.signCount + 1 },
          false,
          at(1),
        ),
        failure: await r.webauthnCredentials.recordFailure(b, "alice", record.id, 100, at(1)),
        remove: await r.webauthnCredentials.remove(a, "bob", record.id),
        challengeB: await r.webauthnChallenges.get(b, ceremony.id),
        consumeB: await r.webauthnChallenges.consume(b, ceremony.id),
        settingsB: await r.webauthnSettings.get(b),
      }));
      expect(seen).toEqual({
        otherTenant: undefined,
        otherPrincipal: undefined,
        findElsewhere: undefined,
        findOtherPrincipal: undefined,
        listB: [],
        accept: false,
        failure: undefined,
        remove: false,
        challengeB: undefined,
        consumeB: undefined,
        settingsB: undefined,
      });
      const still = await store().transaction(async (r) => ({
        credential: await r.webauthnCredentials.get(a, "alice", record.id),
        challenge: await r.webauthnChallenges.get(a, ceremony.id),
      }));
      expect(still).toStrictEqual({ credential: record, challenge: ceremony });
    });

    it("never lets a tenant unlock, count a failure on or remove another tenant's credential of the same principal and id", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const ofA = credential(a);
      const ofB = { ...credential(b), id: ofA.id };
      await store().transaction(async ({ webauthnCredentials }) => {
        await webauthnCredentials.insert(ofA);
        await webauthnCredentials.insert(ofB);
        await webauthnCredentials.recordFailure(a, "alice", ofA.id, 1, at(1));
      });
      const before = await store().read(({ webauthnCredentials }) =>
        webauthnCredentials.get(a, "alice", ofA.id),
      );
      const seen = await store().transaction(async ({ webauthnCredentials }) => ({
        failure: await webauthnCredentials.recordFailure(b, "alice", ofA.id, 100, at(2)),
        unlocked: await webauthnCredentials.unlockAll(b, "alice"),
        removed: await webauthnCredentials.remove(b, "alice", ofA.id),
      }));
      expect(seen).toEqual({ failure: { failedAttempts: 1 }, unlocked: [ofA.id], removed: true });
      expect(before).toMatchObject({ failedAttempts: 1, lockedAt: at(1) });
      expect(
        await store().read(({ webauthnCredentials }) =>
          webauthnCredentials.get(a, "alice", ofA.id),
        ),
      ).toStrictEqual(before);
    });

    it("hands a challenge out once: consumed, it is gone", async () => {
      const tenant = await addTenant(store());
      const ceremony = challenge(tenant);
      await store().transaction(({ webauthnChallenges }) => webauthnChallenges.insert(ceremony));
      const results = await store().transaction(async ({ webauthnChallenges }) => [
        await webauthnChallenges.consume(tenant, ceremony.id),
        await webauthnChallenges.consume(tenant, ceremony.id),
        await webauthnChallenges.get(tenant, ceremony.id),
      ]);
      expect(results).toStrictEqual([ceremony, undefined, undefined]);
    });

    it("gives a challenge to exactly one of concurrent consumers", async () => {
      const tenant = await addTenant(store());
      for (let round = 0; round < 3; round += 1) {
        const ceremony = challenge(tenant);
        await store().transaction(({ webauthnChallenges }) => webauthnChallenges.insert(ceremony));
        const outcomes = await Promise.all(
          [0, 1, 2, 3].map(() =>
            store().transaction(({ webauthnChallenges }) =>
              webauthnChallenges.consume(tenant, ceremony.id),
            ),
          ),
        );
        expect(outcomes.filter((o) => o !== undefined)).toStrictEqual([ceremony]);
      }
    });

    it("purges expired challenges only", async () => {
      const tenant = await addTenant(store());
      const old = challenge(tenant, at(10));
      const fresh = challenge(tenant, at(1000));
      await store().transaction(async ({ webauthnChallenges }) => {
        await webauthnChallenges.insert(old);
        await webauthnChallenges.insert(fresh);
      });
      const after = await store().transaction(async ({ webauthnChallenges }) => {
        const purged = await webauthnChallenges.purge(at(500));
        return {
          purged: purged >= 1,
          old: await webauthnChallenges.get(tenant, old.id),
          fresh: await webauthnChallenges.get(tenant, fresh.id),
        };
      });
      expect(after).toStrictEqual({ purged: true, old: undefined, fresh });
    });

    it("moves the counter by compare-and-set: from a stale value, nothing changes", async () => {
      const tenant = await addTenant(store());
      const record = { ...credential(tenant), signCount: 7 };
      await store().transaction(({ webauthnCredentials }) => webauthnCredentials.insert(record));
      const results = await store().transaction(async ({ webauthnCredentials }) => [
        await webauthnCredentials.acceptAssertion(
          tenant,
          "alice",
          record.id,
          { expected: 7, next: 8 },
          true,
          at(5),
        ),
        await webauthnCredentials.acceptAssertion(
          tenant,
          "alice",
          record.id,
          { expected: 7, next: 9 },
          true,
          at(6),
        ),
      ]);
      expect(results).toEqual([true, false]);
      expect(
        await store().transaction(({ webauthnCredentials }) =>
          webauthnCredentials.get(tenant, "alice", record.id),
        ),
      ).toMatchObject({ signCount: 8, backupState: true, lastUsedAt: at(5) });
    });

    it("records a clone signal, accepted or refused, until an assertion accepted without one", async () => {
      const tenant = await addTenant(store());
      const record = { ...credential(tenant), signCount: 7 };
      const other = { ...credential(tenant), signCount: 7 };
      await store().transaction(async ({ webauthnCredentials }) => {
        await webauthnCredentials.insert(record);
        await webauthnCredentials.insert(other);
      });
      const signalOf = (id: string) =>
        store().transaction(
          async ({ webauthnCredentials }) =>
            (await webauthnCredentials.get(tenant, "alice", id))?.cloneSuspectedAt,
        );
      const accept = (next: number, at: string, cloneSignal?: boolean) =>
        store().transaction(({ webauthnCredentials }) =>
          webauthnCredentials.acceptAssertion(
            tenant,
            "alice",
            record.id,
            { expected: 7, next },
            false,
            at,
            cloneSignal,
          ),
        );
      expect(await accept(7, at(5), true)).toBe(true);
      expect(await signalOf(record.id)).toBe(at(5));
      expect(await signalOf(other.id)).toBeUndefined();
      expect(
        await store().transaction(({ webauthnCredentials }) =>
          webauthnCredentials.recordCloneSignal(tenant, "alice", record.id, at(6)),
        ),
      ).toBe(true);
      expect(await signalOf(record.id)).toBe(at(6));
      // A compare-and-set that matches nothing leaves the signal standing.
      expect(
        await store().transaction(({ webauthnCredentials }) =>
          webauthnCredentials.acceptAssertion(
            tenant,
            "alice",
            record.id,
            { expected: 1, next: 9 },
            false,
            at(7),
          ),
        ),
      ).toBe(false);
      expect(await signalOf(record.id)).toBe(at(6));
      expect(await accept(8, at(8))).toBe(true);
      expect(await signalOf(record.id)).toBeUndefined();
      expect(
        await store().transaction(({ webauthnCredentials }) =>
          webauthnCredentials.recordCloneSignal(tenant, "bob", record.id, at(9)),
        ),
      ).toBe(false);
      // Kept as written by an insert, and read back by every reader.
      const suspected = { ...credential(tenant), cloneSuspectedAt: at(10) };
      await store().transaction(({ webauthnCredentials }) => webauthnCredentials.insert(suspected));
      expect(
        await store().transaction(({ webauthnCredentials }) =>
          webauthnCredentials.findByCredentialId(tenant, "alice", suspected.credentialId),
        ),
      ).toStrictEqual(suspected);
    });

    it("moves the counter for exactly one of concurrent writers from one value", async () => {
      const tenant = await addTenant(store());
      const record = { ...credential(tenant), signCount: 100 };
      await store().transaction(({ webauthnCredentials }) => webauthnCredentials.insert(record));
      for (const from of [100, 101, 102]) {
        const outcomes = await Promise.all(
          [0, 1, 2, 3].map((n) =>
            store().transaction(({ webauthnCredentials }) =>
              webauthnCredentials.acceptAssertion(
                tenant,
                "alice",
                record.id,
                { expected: from, next: from + 1 },
                false,
                at(from + n),
              ),
            ),
          ),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
      }
    });

    it("counts failures, locks at the limit, and a locked credential accepts nothing", async () => {
      const tenant = await addTenant(store());
      const record = { ...credential(tenant), signCount: 0 };
      await store().transaction(({ webauthnCredentials }) => webauthnCredentials.insert(record));
      const fail = (n: number) =>
        store().transaction(({ webauthnCredentials }) =>
          webauthnCredentials.recordFailure(tenant, "alice", record.id, 2, at(n)),
        );
      expect([await fail(1), await fail(2), await fail(3)]).toEqual([
        { failedAttempts: 1 },
        { failedAttempts: 2, lockedAt: at(2) },
        { failedAttempts: 3, lockedAt: at(2) },
      ]);
      const accepted = await store().transaction(({ webauthnCredentials }) =>
        webauthnCredentials.acceptAssertion(
          tenant,
          "alice",
          record.id,
          { expected: 0, next: 0 },
          false,
          at(4),
        ),
      );
      expect(accepted).toBe(false);
    });

    it("unlocks a principal's credentials, and names those it lifted", async () => {
      const tenant = await addTenant(store());
      const [locked, counted, clean, other] = [
        { ...credential(tenant), signCount: 0 },
        { ...credential(tenant), signCount: 0 },
        { ...credential(tenant), signCount: 0 },
        { ...credential(tenant, "bob"), signCount: 0 },
      ];
      const lifted = await store().transaction(async ({ webauthnCredentials }) => {
        for (const record of [locked, counted, clean, other]) {
          await webauthnCredentials.insert(record);
        }
        await webauthnCredentials.recordFailure(tenant, "alice", locked.id, 1, at(1));
        await webauthnCredentials.recordFailure(tenant, "alice", counted.id, 5, at(1));
        await webauthnCredentials.recordFailure(tenant, "bob", other.id, 1, at(1));
        return [
          await webauthnCredentials.unlockAll(tenant, "alice"),
          await webauthnCredentials.unlockAll(tenant, "alice"),
        ];
      });
      expect(lifted).toEqual([[locked.id, counted.id].sort(), []]);
      const after = await store().transaction(async ({ webauthnCredentials }) => [
        await webauthnCredentials.get(tenant, "alice", locked.id),
        await webauthnCredentials.get(tenant, "bob", other.id),
      ]);
      expect(after[0]).toStrictEqual(locked);
      expect(after[1]).toMatchObject({ failedAttempts: 1, lockedAt: at(1) });
    });

    it("stores, replaces and removes", async () => {
      const tenant = await addTenant(store());
      const record = credential(tenant);
      const first = settings(tenant);
      const second: WebAuthnSettingsRecord = {
        ...first,
        origins: ["https://b.example.com"],
        rpId: "example.com",
        signCountPolicy: "warn",
        updatedAt: at(9),
      };
      const results = await store().transaction(async (r) => {
        await r.webauthnCredentials.insert(record);
        await r.webauthnSettings.put(first);
        const read1 = await r.webauthnSettings.get(tenant);
        await r.webauthnSettings.put(second);
        return {
          read1,
          read2: await r.webauthnSettings.get(tenant),
          removed: await r.webauthnCredentials.remove(tenant, "alice", record.id),
          again: await r.webauthnCredentials.remove(tenant, "alice", record.id),
        };
      });
      expect(results).toStrictEqual({ read1: first, read2: second, removed: true, again: false });
    });
  });
}

export function settings(tenant: string): WebAuthnSettingsRecord {
  return {
    tenant,
    rpId: "a.example.com",
    rpName: "Acme",
    origins: ["https://a.example.com"],
    userVerification: "required",
    attestation: "direct",
    aaguids: ["2fc0579f-8113-47ea-b116-bb5a8db9202a"],
    signCountPolicy: "reject",
    updatedAt: at(0),
    updatedBy: "key_1",
  };
}
