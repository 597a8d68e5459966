// Threat (availability, and a key kept for no one): the sealed secret of a TOTP enrolment past its
// time. It can never be confirmed, so it is never opened again; yet the start-up check counted it
// as needing its key (a server refused to start without a key that only abandoned enrolments
// named, so a key to retire, compromised perhaps, stayed configured) and `secrets reseal`
// re-sealed it, or reported it unopened. Once past its time on every instance (the enrolment TTL
// and the instances' clock drift after its begin) it is now skipped by both, and the reseal says
// how many it left; until then it counts as before.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import type { Caller } from "../application.js";
import { INSTANCE_CLOCK_DRIFT_SECONDS } from "../ports.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { findMissingSealingKeys } from "./missing-sealing-keys.js";
import { resealSecrets } from "./reseal-secrets.js";

const oldKey = { id: "k1", key: randomBytes(32) };
const newKey = { id: "k2", key: randomBytes(32) };
const TTL = 600;
const LAPSED = TTL + INSTANCE_CLOCK_DRIFT_SECONDS;

describe("the secret of a TOTP enrolment past its time", () => {
  let h: Harness;
  let service: Caller;

  beforeEach(async () => {
    h = await openHarness({ federation: { secrets: createAesGcmSealer([oldKey]) } });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    for (const id of ["bob", "carol"]) {
      await h.app.principals.upsert(h.admin, "acme", id, { population: "direct" });
    }
    service = await h.caller(["platform_service"], ["acme"]);
  });
  afterEach(() => h.close());

  // Each principal's own: beginning another would remove the principal's expired ones.
  const begin = async (principal = "bob") =>
    (await h.app.authenticators.beginTotp(service, "acme", principal, {})).authenticator.id;
  const sealedOf = async (id: string, principal = "bob") =>
    (await h.store.read((r) => r.authenticators.get("acme", principal, id)))?.sealedSecret;
  const missingWithNewKeyOnly = () => findMissingSealingKeys(h.store, ["k2"], h.clock.now(), TTL);

  it("needs its key no more at start-up once past its time on every instance", async () => {
    await begin();
    h.clock.advance(LAPSED - 1);
    expect(await missingWithNewKeyOnly()).toEqual([
      { keyId: "k1", seals: [{ keyId: "k1", kind: "totp_secret", count: 1 }] },
    ]);
    h.clock.advance(1);
    expect(await missingWithNewKeyOnly()).toEqual([]);
  });

  it("is left as it was by a reseal, which says how many it left, and never reported unopened", async () => {
    const lapsed = await begin();
    h.clock.advance(LAPSED - 10);
    const waiting = await begin("carol");
    h.clock.advance(10);
    const [lapsedSealed, waitingSealed] = [
      await sealedOf(lapsed),
      await sealedOf(waiting, "carol"),
    ];
    const report = await resealSecrets(
      h.context,
      createAesGcmSealer([newKey, oldKey]),
      "cli:secrets reseal",
    );
    expect(report).toEqual({
      tenants: 1,
      totpSecrets: 1,
      idpClientSecrets: 0,
      pkceVerifiers: 0,
      signingKeys: 0,
      expiredTotpEnrolments: 1,
    });
    expect(await sealedOf(lapsed)).toBe(lapsedSealed);
    expect(await sealedOf(waiting, "carol")).not.toBe(waitingSealed);
    // The old key dropped: what is left under it is dead, and nothing is reported unopened.
    expect(await missingWithNewKeyOnly()).toEqual([]);
    const again = await resealSecrets(h.context, createAesGcmSealer([newKey]), "cli");
    expect(again).not.toHaveProperty("unopened");
    expect(again).toMatchObject({ expiredTotpEnrolments: 1 });
  });
});
