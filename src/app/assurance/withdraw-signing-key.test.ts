// Threat: an assurance-token signing key whose private part no configured key opens (its
// ciphertext altered in the database, or its encryption key lost) kept that encryption key in
// configuration for good: every start counts the sealed values by key, a signing key's too,
// and refuses a store holding one sealed with a key it is not given, so a key that was perhaps
// compromised could never be dropped. Withdrawing the key is the way out: explicit, for a key
// that does not open only, audited, its public part kept for what it signed; never a key that
// disappears by itself.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { findMissingSealingKeys } from "../secrets/missing-sealing-keys.js";
import { resealSecrets } from "../secrets/reseal-secrets.js";
import { CountingRandom, type Harness } from "../test-support/harness.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import {
  openPostgresWorld,
  openSqliteWorld,
  alteredCiphertext as altered,
  type TamperedWorld,
  type WorldOptions,
} from "../test-support/tampered-world.js";
import { everyPublicSigningKey } from "./signing-keys.js";
import { listUnopenableSigningKeys, withdrawUnopenableSigningKey } from "./withdraw-signing-key.js";

const oldKey = { id: "k1", key: randomBytes(32) };
const newKey = { id: "k2", key: randomBytes(32) };

const withdrawTests = (open: (options: WorldOptions) => Promise<TamperedWorld>) => () => {
  let world: TamperedWorld | undefined;
  let h: Harness;
  let kids: string[];

  beforeEach(async () => {
    world = await open({ federation: { secrets: createAesGcmSealer([oldKey]) } });
    ({ h } = world);
    await h.app.assurance.jwks();
    await h.app.assurance.rotateSigningKey(h.admin, {});
    kids = (await h.store.read((r) => r.signingKeys.list())).map((key) => key.kid);
  });
  afterEach(async () => {
    await world?.close();
  });

  const rotated = createAesGcmSealer([newKey, oldKey]);
  const onlyNew = createAesGcmSealer([newKey]);
  const missingWithNewKeyOnly = () => findMissingSealingKeys(h.store, ["k2"], h.clock.now(), 600);

  it("lets the old key go once the key it cannot open is withdrawn, audited, and signs with another", async () => {
    const [first = "", signing = ""] = kids;
    await world?.tamper([
      `UPDATE signing_keys SET sealed_private_jwk = ${altered("sealed_private_jwk")} WHERE kid = '${signing}'`,
    ]);
    await resealSecrets(h.context, rotated, "cli:secrets reseal");
    // The key that does not open still names k1: dropping k1 is refused at every start.
    expect(await missingWithNewKeyOnly()).toEqual([
      { keyId: "k1", seals: [{ keyId: "k1", kind: "signing_key", count: 1 }] },
    ]);
    expect(await listUnopenableSigningKeys(h.context, rotated)).toEqual([
      expect.objectContaining({ kid: signing, sealedWith: "k1", published: true }),
    ]);

    await expect(
      withdrawUnopenableSigningKey(h.context, rotated, signing, "cli:keys withdraw"),
    ).resolves.toMatchObject({ kid: signing, sealedWith: "k1" });

    expect(await missingWithNewKeyOnly()).toEqual([]);
    expect(await listUnopenableSigningKeys(h.context, rotated)).toEqual([]);
    // With the new key alone: the withdrawn key is not published, and another signs.
    const app = h.application({
      store: h.store,
      random: new CountingRandom(700_000),
      secrets: onlyNew,
    });
    try {
      const published = (await app.assurance.jwks()).keys.map((key) => key.kid);
      expect(published).toContain(first);
      expect(published).not.toContain(signing);
      expect(published).toHaveLength(2);
    } finally {
      await app.close();
    }
    // Its public part stays, for the checkpoints and tokens it signed.
    expect((await everyPublicSigningKey(h.context)).map((key) => key.kid)).toContain(signing);
    const events = await h.store.read(({ audit }) =>
      audit.read("platform", {
        afterSeq: 0,
        limit: 100,
        filter: { type: "signing_key.withdrawn" },
      }),
    );
    expect(events.map((e) => [e.actor, e.payload])).toEqual([
      [
        "cli:keys withdraw",
        {
          kid: signing,
          sealedWith: "k1",
          reason: "unopenable",
          retiresAt: h.clock.now().toISOString(),
          removedAt: h.clock.now().toISOString(),
        },
      ],
    ]);
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });

  it("withdraws a key sealed with an encryption key no longer given", async () => {
    const [first = ""] = kids;
    // Only the new key is given: every key the store holds is sealed with k1.
    expect((await listUnopenableSigningKeys(h.context, onlyNew)).map((key) => key.kid)).toEqual(
      kids,
    );
    await withdrawUnopenableSigningKey(h.context, onlyNew, first, "operator");
    expect(await missingWithNewKeyOnly()).toEqual([
      { keyId: "k1", seals: [{ keyId: "k1", kind: "signing_key", count: 1 }] },
    ]);
  });

  it("refuses to withdraw a key that opens, or one that is not there, and changes nothing", async () => {
    const [first = ""] = kids;
    const before = await h.store.read((r) => r.signingKeys.list());
    await expect(
      withdrawUnopenableSigningKey(h.context, rotated, first, "operator"),
    ).rejects.toMatchObject({ code: "signing_key.opens" });
    await expect(
      withdrawUnopenableSigningKey(h.context, rotated, "key_nothere", "operator"),
    ).rejects.toMatchObject({ code: "not_found" });
    expect(await h.store.read((r) => r.signingKeys.list())).toEqual(before);
    const events = await h.store.read(({ audit }) =>
      audit.read("platform", {
        afterSeq: 0,
        limit: 100,
        filter: { type: "signing_key.withdrawn" },
      }),
    );
    expect(events).toEqual([]);
  });
};

describe("withdrawing a signing key that no key opens (SQLite)", withdrawTests(openSqliteWorld));

describeOnPostgres(
  {
    title: "withdrawing a signing key that no key opens (PostgreSQL)",
    skippedTitle: "withdrawing a signing key that no key opens (PostgreSQL)",
    tests: "signing-key withdrawal tests on PostgreSQL",
  },
  withdrawTests(openPostgresWorld),
);
