// Threat: a key rotation that dropped the old key before `tenant-mfa secrets reseal` ran. A TOTP
// secret sealed under the missing key (or altered in the store) cannot be opened; verifying
// must answer `secret.unavailable` (503: an operator must act), not `store.unavailable` (which
// sends operators after the database) and not a wrong code (which would count against the
// principal and, 100 times over, lock a person out for the operator's mistake).
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import type { Application, Caller } from "../application.js";
import { createApplication } from "../create-application.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";

describe("a TOTP secret whose sealing key is gone", () => {
  const oldKey = { id: "k1", key: randomBytes(32) };
  const newKey = { id: "k2", key: randomBytes(32) };
  let h: Harness;
  let service: Caller;
  let phone: EnrolledTotp;
  /** The application after the rotation: only the new key is configured. */
  let rotated: Application & { close(): Promise<void> };

  beforeEach(async () => {
    h = await openHarness({ federation: { secrets: createAesGcmSealer([oldKey]) } });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    phone = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(30);
    rotated = createApplication({
      store: h.store,
      clock: h.clock,
      random: new CountingRandom(1_000_000),
      settings: h.context.settings,
      secrets: createAesGcmSealer([newKey]),
      totp: createTotpProtocol(),
    });
  });
  afterEach(async () => {
    await rotated.close();
    await h.close();
  });

  it("answers secret.unavailable and counts nothing, however often it is tried", async () => {
    for (let n = 0; n < 8; n += 1) {
      expect(
        await outcomeOf(
          rotated.authenticators.verifyTotp(service, "acme", "alice", phone.id, {
            code: rightCode(h, phone),
          }),
        ),
      ).toEqual({ code: "secret.unavailable" });
    }
    const [listed] = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed?.failedAttempts).toBe(0);
    const state = await h.store.read((r) => r.verificationThrottles.get("acme", "principal:alice"));
    expect(state?.consecutiveFailures ?? 0).toBe(0);
    const failed = await h.app.audit.list(
      h.admin,
      "acme",
      { type: "authenticator.verification_failed" },
      {},
    );
    expect(failed.items).toEqual([]);
    // With the old key configured again, the same code verifies.
    expect(
      (
        await outcomeOf(
          h.app.authenticators.verifyTotp(service, "acme", "alice", phone.id, {
            code: rightCode(h, phone),
          }),
        )
      ).code,
    ).toBe("accepted");
  });

  it("answers secret.unavailable for a sealed secret altered in the store", async () => {
    await h.store.transaction(async (r) => {
      const record = await r.authenticators.get("acme", "alice", phone.id);
      if (record === undefined) throw new Error("the authenticator is gone");
      const sealed = record.sealedSecret;
      const flipped = `${sealed.slice(0, -2)}${sealed.endsWith("AA") ? "BB" : "AA"}`;
      await r.authenticators.reseal("acme", "alice", phone.id, sealed, flipped);
    });
    expect(
      await outcomeOf(
        h.app.authenticators.verifyTotp(service, "acme", "alice", phone.id, {
          code: rightCode(h, phone),
        }),
      ),
    ).toEqual({ code: "secret.unavailable" });
  });
});
