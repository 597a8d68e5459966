import { describe, expect, it } from "vitest";
import { pendingTotp } from "./describe-authenticators.js";
import { codes, setOf } from "./describe-recovery-codes.js";
import { credential } from "./describe-webauthn.js";
import { addTenant, at } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** Which principals of a tenant hold which platform authenticators (the compliance report's). */
export function describeEnrolments({ store }: ContractContext): void {
  describe("enrolments", () => {
    it("names each principal once per kind, in id order: confirmed TOTP, WebAuthn, recovery codes left", async () => {
      const tenant = await addTenant(store());
      const other = await addTenant(store());
      await store().transaction(async (r) => {
        for (const principal of ["carol", "alice", "alice", "bob"]) {
          const totp = pendingTotp(tenant, principal);
          await r.authenticators.insert(totp);
          // bob's stays pending: begun, never confirmed.
          if (principal !== "bob")
            await r.authenticators.activate(tenant, principal, totp.id, 1, at(1));
        }
        await r.webauthnCredentials.insert(credential(tenant, "dave"));
        await r.webauthnCredentials.insert(credential(tenant, "dave"));
        await r.webauthnCredentials.insert(credential(tenant, "alice"));
        await r.recoveryCodes.replace(
          setOf(tenant, "set-e", 0, "erin"),
          codes(tenant, "set-e", "erin"),
        );
        await r.recoveryCodes.replace(
          setOf(tenant, "set-f", 0, "frank"),
          codes(tenant, "set-f", "frank"),
        );
        // Another tenant's, of the same principal ids.
        const foreign = pendingTotp(other, "zoe");
        await r.authenticators.insert(foreign);
        await r.authenticators.activate(other, "zoe", foreign.id, 1, at(1));
        await r.webauthnCredentials.insert(credential(other, "zoe"));
        await r.recoveryCodes.replace(
          setOf(other, "set-z", 0, "zoe"),
          codes(other, "set-z", "zoe"),
        );
      });
      // frank has used every code of his set: none is left.
      await store().transaction(async (r) => {
        for (const { locator } of codes(tenant, "set-f", "frank")) {
          await r.recoveryCodes.use(tenant, "frank", "set-f", locator, at(2));
        }
      });
      expect(await store().read((r) => r.enrolments.enrolledPrincipals(tenant))).toEqual({
        totp: ["alice", "carol"],
        webauthn: ["alice", "dave"],
        recoveryCodes: ["erin"],
      });
      const empty = await addTenant(store());
      expect(await store().read((r) => r.enrolments.enrolledPrincipals(empty))).toEqual({
        totp: [],
        webauthn: [],
        recoveryCodes: [],
      });
    });
  });
}
