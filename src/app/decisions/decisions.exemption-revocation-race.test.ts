// Threat: an exemption revoked while a decision that reads it is under way. The decision API
// read the principal's exemptions, then committed its receipt in a later batch: a revocation that
// committed in between was not seen, the platform was let through under an exemption that no
// longer stood, and the chain recorded the decision after the revocation. The exemption is now
// read again, held, in the transaction that writes the receipt, and the decision made again
// without it. The same on both stores; the race is made deterministic by running the revocation
// just after the decision's read of the exemptions.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Application, Caller } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { approvedBreakGlass } from "../test-support/exempted-sign-in.js";
import { storeRacingExemptions, type ExemptionRace } from "../test-support/exemption-race.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import { storesUnderTest } from "../../storage/test-support/stores-under-test.js";

const stores = await storesUnderTest("The decision's re-check of an exemption");

for (const { name, skip, open } of stores) {
  describe.skipIf(skip)(
    `a decision whose exemption is revoked under it, on ${name}${skip ? " (skipped: no PostgreSQL reachable outside CI)" : ""}`,
    () => {
      let h: Harness;
      let drop: () => Promise<void>;
      let service: Caller;
      let racing: Application & { close(): Promise<void> };
      const race: ExemptionRace = {};

      beforeEach(async () => {
        const [store, cleanup] = await open();
        drop = cleanup;
        h = await openHarness({ store });
        await h.app.tenants.create(h.admin, { id: "acme", name: "acme corp" });
        await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
        await replacePolicy(h, "acme", { posture: "platform_mfa" });
        service = await h.caller(["platform_service"], ["acme"]);
        racing = h.application({
          store: storeRacingExemptions(h.store, "list", race),
          random: new CountingRandom(500_000),
        });
      });
      afterEach(async () => {
        race.after = undefined;
        await racing.close();
        await h.close();
        await drop();
      });

      /** An hour's break-glass exemption of alice, approved now. */
      const exempt = () => approvedBreakGlass(h);

      const passwordOnly = () => ({
        principal: { id: "alice" },
        evidence: {
          events: [
            {
              method: "password" as const,
              source: "platform" as const,
              at: h.clock.now().toISOString(),
            },
          ],
        },
      });

      const chain = async () =>
        (
          await h.store.read(({ audit }) =>
            audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }),
          )
        )
          .filter((e) => e.type === "exemption.revoked" || e.type === "decision.recorded")
          .map((e) => [
            e.type,
            (e.type === "exemption.revoked" ? e.payload["id"] : e.payload["exemption"]) ?? null,
          ]);

      it("decides again without an exemption revoked after the decision read it", async () => {
        const exemption = await exempt();
        race.after = async () => {
          await h.app.exemptions.revoke(h.admin, "acme", exemption, { reason: "incident over" });
        };
        const decision = await racing.decisions.decide(service, "acme", passwordOnly());
        expect(race.after).toBeUndefined(); // the revocation ran
        expect([decision.outcome, decision.exemption]).toEqual(["challenge", null]);
        // No decision under the exemption after its revocation.
        expect(await chain()).toEqual([
          ["exemption.revoked", exemption],
          ["decision.recorded", null],
        ]);
      });

      it("allows under an exemption that stands throughout", async () => {
        const exemption = await exempt();
        const decision = await racing.decisions.decide(service, "acme", passwordOnly());
        expect([decision.outcome, decision.exemption?.id]).toEqual(["allow", exemption]);
        expect(await chain()).toEqual([["decision.recorded", exemption]]);
      });
    },
  );
}
