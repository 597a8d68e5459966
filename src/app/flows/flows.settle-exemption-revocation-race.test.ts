// Threat: an exemption revoked while a hosted flow settles under it. The flow's decision read the
// principal's exemptions, then completed the flow with its receipt in a later transaction: a
// revocation that committed in between was not seen, so the chain recorded a decision (and a
// break-glass use) under the exemption after its `exemption.revoked`, and the flow handed out a
// code on a receipt that says `allow`. The exemption is now read again, held, in the transaction
// that completes the flow, and the page decides again without it. The same on both stores; the
// race is made deterministic by running the revocation just after the settling decision's read.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { acknowledgedExemption } from "../test-support/exempted-sign-in.js";
import {
  openExemptionRaceWorld,
  type ExemptionRace,
  type ExemptionRaceWorld,
} from "../test-support/exemption-race.js";
import type { Harness } from "../test-support/harness.js";
import { codeOf } from "../test-support/platform-mfa-flows.js";
import { storesUnderTest } from "../../storage/test-support/stores-under-test.js";

const RETURN = "https://app.example/signed-in";
const stores = await storesUnderTest("The settling flow's re-check of an exemption");

for (const { name, skip, open } of stores) {
  describe.skipIf(skip)(
    `a hosted flow settling under an exemption revoked under it, on ${name}${skip ? " (skipped: no PostgreSQL reachable outside CI)" : ""}`,
    () => {
      let world: ExemptionRaceWorld;
      let h: Harness;
      let service: Caller;
      let racing: ExemptionRaceWorld["racing"];
      let race: ExemptionRace;
      let drop: () => Promise<void>;
      const browser: FlowBrowser = { cookie: "settle-race-browser-cookie-012345" };
      beforeEach(async () => {
        const [store, cleanup] = await open();
        drop = cleanup;
        world = await openExemptionRaceWorld(store, "list", RETURN);
        ({ h, service, racing, race } = world);
      });
      afterEach(async () => {
        await world.close();
        await drop();
      });

      const acknowledgedUnderExemption = () =>
        acknowledgedExemption(h, service, { browser, returnTo: RETURN });

      /** The revocation runs after the second read of exemptions: the settling decision's. */
      function revokeAtSettle(exemption: string): void {
        const revoke = async () => {
          await h.app.exemptions.revoke(h.admin, "acme", exemption, { reason: "incident over" });
        };
        race.after = () => {
          race.after = revoke;
          return Promise.resolve();
        };
      }

      const chain = async () =>
        (
          await h.store.read(({ audit }) =>
            audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }),
          )
        )
          .filter((e) =>
            ["exemption.revoked", "decision.recorded", "exemption.break_glass_used"].includes(
              e.type,
            ),
          )
          .map((e) => [
            e.type,
            (e.type === "exemption.revoked" ? e.payload["id"] : e.payload["exemption"]) ?? null,
          ]);
      const statusOf = async (flow: string) =>
        (await h.store.read(({ flows }) => flows.get("acme", flow)))?.status;

      it("completes nothing under an exemption revoked after the settling decision read it, and asks for MFA", async () => {
        const { exemption, flow } = await acknowledgedUnderExemption();
        revokeAtSettle(exemption);
        const settled = await racing.flows.show("acme", flow, browser);
        expect(race.after).toBeUndefined(); // the revocation ran
        expect(codeOf(settled)).toBeNull();
        expect(await statusOf(flow)).toBe("pending");
        // Decided again, the page asks for MFA: the exemption no longer stands.
        const again = await racing.flows.show("acme", flow, browser);
        expect(again.kind).toBe("challenge");
        // No decision (nor break-glass use) under the exemption after its revocation.
        expect(await chain()).toEqual([["exemption.revoked", exemption]]);
      });

      it("completes under an exemption that stands throughout, recording its break-glass use once", async () => {
        const { exemption, flow } = await acknowledgedUnderExemption();
        const settled = await racing.flows.show("acme", flow, browser);
        expect(codeOf(settled)).not.toBeNull();
        expect(await statusOf(flow)).toBe("completed");
        expect(await chain()).toEqual([
          ["decision.recorded", exemption],
          ["exemption.break_glass_used", exemption],
        ]);
      });
    },
  );
}
