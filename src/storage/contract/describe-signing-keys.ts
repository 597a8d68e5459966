import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { SigningKeyRecord } from "../../app/records.js";
import { at, DAY, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

// Keys are platform-wide, so each test takes its own stretch of time and looks only at its keys.
const stretch = () => randomInt(0, 2_000) * 100 * DAY + randomInt(0, DAY);

function key(base: number, activates: number, overrides: Partial<SigningKeyRecord> = {}) {
  return {
    kid: uniqueId("key"),
    alg: "ES256",
    publicJwk: { kty: "EC", crv: "P-256", x: "x-coordinate", y: "y-coordinate" },
    sealedPrivateJwk: "v1.k1.aaaa.bbbb",
    createdAt: at(base),
    activatesAt: at(base + activates),
    retiresAt: at(base + activates + 30 * DAY),
    removedAt: at(base + activates + 31 * DAY),
    ...overrides,
  } satisfies SigningKeyRecord;
}

/** Assurance-token signing keys: what is published when, and one key per activation instant. */
export function describeSigningKeys({ store }: ContractContext): void {
  describe("signing keys", () => {
    it("publishes a key from its creation until its removal, oldest activation first", async () => {
      const base = stretch();
      const first = key(base, 0);
      const second = key(base, 28 * DAY);
      await store().transaction(async ({ signingKeys }) => {
        expect(await signingKeys.insert(second)).toBe(true);
        expect(await signingKeys.insert(first)).toBe(true);
      });
      const mine = async (seconds: number) =>
        (await store().read(({ signingKeys }) => signingKeys.published(at(base + seconds))))
          .filter((k) => k.kid === first.kid || k.kid === second.kid)
          .map((k) => k.kid);

      expect(await mine(DAY)).toEqual([first.kid, second.kid]);
      expect(await mine(31 * DAY - 1)).toEqual([first.kid, second.kid]);
      expect(await mine(31 * DAY)).toEqual([second.kid]);
      const [stored] = (
        await store().read(({ signingKeys }) => signingKeys.published(at(base)))
      ).filter((k) => k.kid === first.kid);
      expect(stored).toStrictEqual(first);
    });

    it("accepts one successor per key, without spoiling the transaction that tried another", async () => {
      const base = stretch();
      const predecessor = key(base, 0);
      const winner = key(base, 30 * DAY, { successorOf: predecessor.kid });
      const loser = key(base, 30 * DAY, { successorOf: predecessor.kid });
      const after = key(base, DAY);
      await store().transaction(({ signingKeys }) => signingKeys.insert(predecessor));
      await store().transaction(async ({ signingKeys }) => {
        expect(await signingKeys.insert(winner)).toBe(true);
      });
      await store().transaction(async ({ signingKeys }) => {
        expect(await signingKeys.insert(loser)).toBe(false);
        // PostgreSQL aborts a transaction on a failed statement: this write must still commit.
        expect(await signingKeys.insert(after)).toBe(true);
      });
      const kids = (await store().read(({ signingKeys }) => signingKeys.published(at(base)))).map(
        (k) => k.kid,
      );
      expect(kids).toContain(winner.kid);
      expect(kids).toContain(after.kid);
      expect(kids).not.toContain(loser.kid);
    });

    it("retires a key early: its new retirement and removal are what is read back", async () => {
      const base = stretch();
      const early = key(base, 0);
      await store().transaction(({ signingKeys }) => signingKeys.insert(early));
      const retired = await store().transaction(({ signingKeys }) =>
        signingKeys.retire(early.kid, at(base + DAY), at(base + 2 * DAY)),
      );
      expect(retired).toEqual({ retiresAt: at(base + DAY), removedAt: at(base + 2 * DAY) });
      const published = await store().read(({ signingKeys }) =>
        signingKeys.published(at(base + DAY)),
      );
      expect(published.find((k) => k.kid === early.kid)).toMatchObject({
        retiresAt: at(base + DAY),
        removedAt: at(base + 2 * DAY),
      });
      expect(
        (await store().read(({ signingKeys }) => signingKeys.published(at(base + 2 * DAY)))).some(
          (k) => k.kid === early.kid,
        ),
      ).toBe(false);
      expect(
        await store().transaction(({ signingKeys }) =>
          signingKeys.retire("key_unknown", at(base), at(base)),
        ),
      ).toBeUndefined();
    });

    it("moves no end of a key later: a key withdrawn since a rotation read it stays withdrawn", async () => {
      const base = stretch();
      const early = key(base, 0);
      await store().transaction(({ signingKeys }) => signingKeys.insert(early));
      // Withdrawn (a compromised rotation) at base + DAY, then retired by a rotation that read
      // it before: the later ends it asks for are not taken.
      await store().transaction(({ signingKeys }) =>
        signingKeys.retire(early.kid, at(base + DAY), at(base + DAY)),
      );
      const retired = await store().transaction(({ signingKeys }) =>
        signingKeys.retire(early.kid, at(base + 2 * DAY), at(base + 3 * DAY)),
      );
      expect(retired).toEqual({ retiresAt: at(base + DAY), removedAt: at(base + DAY) });
      expect(
        (await store().read(({ signingKeys }) => signingKeys.published(at(base + DAY)))).some(
          (k) => k.kid === early.kid,
        ),
      ).toBe(false);
      // An earlier end is taken, each one apart.
      expect(
        await store().transaction(({ signingKeys }) =>
          signingKeys.retire(early.kid, at(base + DAY / 2), at(base + 2 * DAY)),
        ),
      ).toEqual({ retiresAt: at(base + DAY / 2), removedAt: at(base + DAY) });
    });

    it("lists every key, removed ones too, and re-seals one only while it holds the sealed JWK read", async () => {
      const base = stretch();
      const removed = key(base, 0, { removedAt: at(base + DAY) });
      const current = key(base, 2 * DAY);
      await store().transaction(async ({ signingKeys }) => {
        await signingKeys.insert(removed);
        await signingKeys.insert(current);
      });
      const listed = await store().read(({ signingKeys }) => signingKeys.list());
      expect(listed.find((k) => k.kid === removed.kid)).toStrictEqual(removed);
      expect(listed.find((k) => k.kid === current.kid)).toStrictEqual(current);

      const resealed = "v1.k2.cccc.dddd";
      expect(
        await store().transaction(({ signingKeys }) =>
          signingKeys.reseal(removed.kid, removed.sealedPrivateJwk, resealed),
        ),
      ).toBe(true);
      // Sealed again meanwhile (another run), or unknown: nothing is written.
      expect(
        await store().transaction(({ signingKeys }) =>
          signingKeys.reseal(removed.kid, removed.sealedPrivateJwk, "v1.k3.eeee.ffff"),
        ),
      ).toBe(false);
      expect(
        await store().transaction(({ signingKeys }) =>
          signingKeys.reseal("key_unknown", removed.sealedPrivateJwk, resealed),
        ),
      ).toBe(false);
      const after = await store().read(({ signingKeys }) => signingKeys.list());
      expect(after.find((k) => k.kid === removed.kid)).toStrictEqual({
        ...removed,
        sealedPrivateJwk: resealed,
      });
      expect(after.find((k) => k.kid === current.kid)).toStrictEqual(current);
    });

    it("withdraws a key only while it holds the sealed JWK read: discarded, out at once, nobody's successor, its public JWK kept", async () => {
      const base = stretch();
      const predecessor = key(base, 0);
      const successor = key(base, 30 * DAY, { successorOf: predecessor.kid });
      const retired = key(base, 0, { retiresAt: at(base + DAY), removedAt: at(base + 2 * DAY) });
      await store().transaction(async ({ signingKeys }) => {
        for (const record of [predecessor, successor, retired]) await signingKeys.insert(record);
      });
      const withdraw = (kid: string, from: string, seconds: number) =>
        store().transaction(({ signingKeys }) =>
          signingKeys.withdraw(kid, from, at(base + seconds)),
        );
      expect(await withdraw(successor.kid, "v1.k9.other.value", 3 * DAY)).toBe(false);
      expect(await withdraw("key_unknown", successor.sealedPrivateJwk, 3 * DAY)).toBe(false);
      expect(await withdraw(successor.kid, successor.sealedPrivateJwk, 3 * DAY)).toBe(true);
      expect(await withdraw(retired.kid, retired.sealedPrivateJwk, 3 * DAY)).toBe(true);
      // Withdrawn already: nothing sealed is left to match.
      expect(await withdraw(successor.kid, "", 3 * DAY)).toBe(false);

      const listed = await store().read(({ signingKeys }) => signingKeys.list());
      const { sealedPrivateJwk: _successor, successorOf: _of, ...successorLeft } = successor;
      expect(listed.find((k) => k.kid === successor.kid)).toStrictEqual({
        ...successorLeft,
        retiresAt: at(base + 3 * DAY),
        removedAt: at(base + 3 * DAY),
      });
      // Out of the JWKS already: its times stay as they were.
      const { sealedPrivateJwk: _retired, ...retiredLeft } = retired;
      expect(listed.find((k) => k.kid === retired.kid)).toStrictEqual(retiredLeft);
      expect(
        (await store().read(({ signingKeys }) => signingKeys.published(at(base + 3 * DAY)))).some(
          (k) => k.kid === successor.kid,
        ),
      ).toBe(false);
      // The predecessor may have another successor now.
      const next = key(base, 30 * DAY, { successorOf: predecessor.kid });
      expect(await store().transaction(({ signingKeys }) => signingKeys.insert(next))).toBe(true);
    });
  });
}
