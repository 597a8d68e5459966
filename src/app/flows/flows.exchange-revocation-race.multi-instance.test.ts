// Threat: on PostgreSQL (READ COMMITTED), an exchange that reads the exemption in its spending
// transaction with a plain SELECT still misses a revocation that commits after that read and
// before the spend commits: the token vouches for a sign-in the platform stopped vouching for
// before the code was spent. The exchange holds the exemption's row (FOR SHARE) until it
// commits: a revocation on another instance waits for the spend, and an exchange waits for a
// revocation under way and then refuses. Instances on one database; one of them pauses
// inside a transaction at the point of the race.
import { beforeEach, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { auditEventsOf, exchangeEventName } from "../test-support/audit-events.js";
import { openExchangeRace, type ExchangeRace } from "../test-support/exchange-race.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  const watched = promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await Promise.race([watched, new Promise((resolve) => setTimeout(resolve, ms))]);
  return settled;
}

describeOnPostgres(
  {
    title: "a flow code exchanged while its exemption is revoked on another instance",
    skippedTitle: "a flow code exchanged while its exemption is revoked",
    tests: "the multi-instance exchange and revocation race tests",
  },
  () => {
    /** Its third instance stops right after the exemption call the test names. */
    let race: ExchangeRace<"hold" | "update">;
    const browser: FlowBrowser = { cookie: "exchange-race-browser-cookie-0123" };

    beforeEach(async () => {
      race = await openExchangeRace({
        browser,
        pause: { hold: "exemptions", update: "exemptions" },
      });
      return () => race.close();
    });

    /** The audit events of acme about the exchange or the revocation, in order. */
    const raceEvents = () =>
      auditEventsOf(
        race.first,
        "acme",
        (e) => exchangeEventName(e) ?? (e.type === "exemption.revoked" ? e.type : undefined),
      );

    it("makes a revocation that starts after the exchange's check wait for the spend", async () => {
      const { exemption, code } = await race.exemptedSignIn();
      const gate = race.pauseAt("hold");
      const exchanging = race.third.flows.exchange(race.service, { code });
      await gate.reached;
      // The exchange has spent the code (uncommitted) and checked the exemption: a revocation on
      // another instance now would commit before the spend, unseen, were the row not held.
      const revoking = race.first.app.exemptions.revoke(race.first.admin, "acme", exemption, {
        reason: "incident over",
      });
      const revokedWhileHeld = await settlesWithin(revoking, 500);
      gate.release();
      const exchanged = await exchanging;
      await revoking;
      expect(revokedWhileHeld).toBe(false);
      expect(exchanged.principal).toBe("alice");
      expect(await raceEvents()).toEqual(["flow.exchanged", "exemption.revoked"]);
    });

    it("makes an exchange wait for a revocation under way, and refuses it once that commits", async () => {
      const { exemption, code } = await race.exemptedSignIn();
      const gate = race.pauseAt("update");
      const revoking = race.third.exemptions.revoke(race.first.admin, "acme", exemption, {
        reason: "incident over",
      });
      await gate.reached;
      // The revocation has written the exemption but not committed: the exchange's early look
      // sees it standing, and its check in the spending transaction must wait for the outcome.
      const exchanging = race.first.app.flows.exchange(race.service, { code });
      const exchangedMeanwhile = await settlesWithin(exchanging, 500);
      gate.release();
      await revoking;
      await expect(exchanging).rejects.toMatchObject({ code: "flow.code_invalid" });
      expect(exchangedMeanwhile).toBe(false);
      expect(await raceEvents()).toEqual([
        "exemption.revoked",
        "flow.exchange_refused:exemption_ended",
      ]);
    });
  },
);
