// Threat: an exemption revoked (or a mandate no exemption excuses created) while a flow's code is
// being exchanged. The exchange checked the exemption's standing in a read of its own, then spent
// the code in a later transaction: a revocation that committed in between was not seen, and a
// token vouched for a sign-in the platform no longer let through. The standing is now read again
// in the transaction that spends the code, so whatever committed before the spend is seen. The
// same on both stores; the race is made deterministic by running the revocation just after the
// exchange's first look at the exemption.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { exemptedSignIn as signedInUnderExemption } from "../test-support/exempted-sign-in.js";
import {
  openExemptionRaceWorld,
  type ExemptionRace,
  type ExemptionRaceWorld,
} from "../test-support/exemption-race.js";
import type { Harness } from "../test-support/harness.js";
import { storesUnderTest } from "../../storage/test-support/stores-under-test.js";

const RETURN = "https://app.example/signed-in";
const stores = await storesUnderTest("The exchange's re-check of an exemption");

for (const { name, skip, open } of stores) {
  describe.skipIf(skip)(
    `exchanging a code whose exemption changes under it, on ${name}${skip ? " (skipped: no PostgreSQL reachable outside CI)" : ""}`,
    () => {
      let world: ExemptionRaceWorld;
      let h: Harness;
      let service: Caller;
      let racing: ExemptionRaceWorld["racing"];
      let race: ExemptionRace;
      let drop: () => Promise<void>;
      const browser: FlowBrowser = { cookie: "exchange-race-browser-cookie-0123" };
      beforeEach(async () => {
        const [store, cleanup] = await open();
        drop = cleanup;
        world = await openExemptionRaceWorld(store, "get", RETURN);
        ({ h, service, racing, race } = world);
      });
      afterEach(async () => {
        await world.close();
        await drop();
      });

      /** A sign-in that a break-glass exemption of an hour let through: the exemption, flow and code. */
      const exemptedSignIn = () =>
        signedInUnderExemption(h, service, { browser, returnTo: RETURN });

      const refusals = async () =>
        (
          await h.store.read(({ audit }) =>
            audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }),
          )
        )
          .filter((e) => e.type === "flow.exchange_refused")
          .map((e) => e.payload["reason"]);
      const statusOf = async (flow: string) =>
        (await h.store.read(({ flows }) => flows.get("acme", flow)))?.status;

      it("refuses a code whose exemption is revoked after the check and before the spend, leaving it unspent", async () => {
        const { exemption, flow, code } = await exemptedSignIn();
        race.after = async () => {
          await h.app.exemptions.revoke(h.admin, "acme", exemption, { reason: "incident over" });
        };
        await expect(racing.flows.exchange(service, { code })).rejects.toMatchObject({
          code: "flow.code_invalid",
        });
        expect(race.after).toBeUndefined(); // the revocation ran
        expect(await statusOf(flow)).toBe("completed");
        // Unspent, the code is checked afresh each time, and refused for the same reason.
        await expect(racing.flows.exchange(service, { code })).rejects.toMatchObject({
          code: "flow.code_invalid",
        });
        // Audited once: a refusal of the same reason within the minute adds no row.
        expect(await refusals()).toEqual(["exemption_ended"]);
      });

      it("refuses a code once a mandate that no exemption excuses is created after the check and before the spend", async () => {
        const { flow, code } = await exemptedSignIn();
        race.after = async () => {
          await h.app.mandates.create(h.admin, {
            id: "uplift",
            mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: false },
            rationale: "phishing campaign",
          });
        };
        await expect(racing.flows.exchange(service, { code })).rejects.toMatchObject({
          code: "flow.code_invalid",
        });
        expect(race.after).toBeUndefined();
        expect(await statusOf(flow)).toBe("completed");
        expect(await refusals()).toEqual(["mandate_changed"]);
      });

      it("exchanges a code whose exemption stands throughout, once", async () => {
        const { flow, code } = await exemptedSignIn();
        const exchanged = await racing.flows.exchange(service, { code });
        expect(exchanged).toMatchObject({ principal: "alice", expiresIn: 300 });
        expect(await statusOf(flow)).toBe("exchanged");
        await expect(racing.flows.exchange(service, { code })).rejects.toMatchObject({
          code: "flow.code_invalid",
        });
        expect(await refusals()).toEqual(["replayed"]);
      });
    },
  );
}
