// Threat: on PostgreSQL (READ COMMITTED), the exchange of a code that an exemption let through
// reads the mandates in its spending transaction with a plain SELECT, and misses a mandate that
// no exemption excuses (an emergency uplift) committed after that read and before the spend
// commits: a token vouches for a sign-in that the uplift stopped letting through. The exchange
// holds the mandates (a lock that every new mandate version takes exclusively) until it commits:
// a mandate created on another instance then waits for the spend, and an exchange waits for a
// mandate under way and then refuses. Instances on one database; one of them pauses inside a
// transaction just after its mandate call, and the other is seen waiting on a lock before the
// pause ends.
import { beforeEach, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { auditEventsOf, exchangeEventName } from "../test-support/audit-events.js";
import {
  openExchangeRace,
  type ExchangeRace,
  type WatchingInstance,
} from "../test-support/exchange-race.js";
import { waitsOnLock } from "../test-support/pausable-store.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";

/** An emergency uplift that binds everyone and that no exemption excuses. */
const UPLIFT = {
  id: "uplift",
  mandate: {
    scope: { tenants: "all" as const },
    require: { minAal: 2 as const },
    exemptible: false,
  },
  rationale: "phishing campaign",
};

describeOnPostgres(
  {
    title: "a flow code exchanged while a mandate is created on another instance",
    skippedTitle: "a flow code exchanged while a mandate is created",
    tests: "the multi-instance exchange and mandate race tests",
  },
  () => {
    /** Its third instance stops right after the mandate call the test names. */
    let race: ExchangeRace<"holdCurrent" | "insert">;
    /** Another instance, which looks at the watched flow once its mandate version is written. */
    let fourth: WatchingInstance;
    const browser: FlowBrowser = { cookie: "exchange-mandate-race-browser-cookie" };

    beforeEach(async () => {
      race = await openExchangeRace({
        browser,
        pause: { holdCurrent: "mandates", insert: "mandates" },
      });
      return () => race.close();
    });
    beforeEach(async () => {
      // Its lock taken, not yet committed: what it sees of the flow committed before it.
      fourth = await race.openWatching("mandates", "insert");
    });

    /** The audit events of acme about the exchange, in order. */
    const exchangeEvents = () => auditEventsOf(race.first, "acme", exchangeEventName);
    /** How many times the uplift was created, as the platform's audit chain says. */
    const mandateCreated = async () =>
      (
        await auditEventsOf(race.first, null, (e) =>
          e.type === "mandate.created" && e.payload["id"] === UPLIFT.id ? e.type : undefined,
        )
      ).length;

    it("makes a mandate created after the exchange's mandate check wait for the spend", async () => {
      const { flow, code } = await race.exemptedSignIn();
      fourth.watch(flow);
      const gate = race.pauseAt("holdCurrent");
      const exchanging = race.third.flows.exchange(race.service, { code });
      await gate.reached;
      // The exchange has spent the code (uncommitted) and read the mandates: an uplift on another
      // instance now would commit before the spend, unseen, were the mandates not held.
      const creating = fourth.app.mandates.create(race.first.admin, UPLIFT);
      const queued = await waitsOnLock(race.two.database.name, creating);
      gate.release();
      const exchanged = await exchanging;
      await creating;
      // The token was issued, so the mandate must have come after the spend: never a token for a
      // sign-in that a mandate committed before the spend stopped letting through.
      expect(exchanged).toMatchObject({ principal: "alice", decision: expect.any(String) });
      expect(fourth.statusAtWrite).toBe("exchanged");
      expect(queued).toBe(true);
      expect(await exchangeEvents()).toEqual(["flow.exchanged"]);
      expect(await mandateCreated()).toBe(1);
    });

    it("makes an exchange wait for a mandate under way, and refuses it once that commits", async () => {
      const { flow, code } = await race.exemptedSignIn();
      const gate = race.pauseAt("insert");
      const creating = race.third.mandates.create(race.first.admin, UPLIFT);
      await gate.reached;
      // The uplift is written but not committed: the exchange's early look misses it, and its
      // check in the spending transaction must wait for the outcome.
      const exchanging = fourth.app.flows.exchange(race.service, { code });
      const queued = await waitsOnLock(race.two.database.name, exchanging);
      gate.release();
      await creating;
      await expect(exchanging).rejects.toMatchObject({ code: "flow.code_invalid" });
      expect(queued).toBe(true);
      expect(await race.statusOf(flow)).toBe("completed");
      expect(await exchangeEvents()).toEqual(["flow.exchange_refused:mandate_changed"]);
      expect(await mandateCreated()).toBe(1);
    });
  },
);
