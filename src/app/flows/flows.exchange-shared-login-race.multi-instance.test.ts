// Threat (seed 001): on PostgreSQL (READ COMMITTED), the exchange of a code that an exemption let
// through reads the principal in its spending transaction with a plain SELECT, and misses a
// shared-login mark committed after that read and before the spend commits: a token vouches,
// under an exemption, for a login that several people share, which no exemption excuses. The
// exchange holds the principal's row (FOR SHARE) until it commits: a mark made on another
// instance then waits for the spend, and an exchange waits for a mark under way and then
// refuses. Instances on one database; one of them pauses inside a transaction just after its
// principal call, and the other is seen waiting on a lock before the pause ends.
import { beforeEach, expect, it } from "vitest";
import type { Application, FlowBrowser } from "../application.js";
import {
  auditEventsOf,
  exchangeEventName,
  principalUpdateName,
} from "../test-support/audit-events.js";
import {
  openExchangeRace,
  type ExchangeRace,
  type WatchingInstance,
} from "../test-support/exchange-race.js";
import { waitsOnLock } from "../test-support/pausable-store.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";

describeOnPostgres(
  {
    title: "a flow code exchanged while its principal is marked a shared login on another instance",
    skippedTitle: "a flow code exchanged while its principal is marked a shared login",
    tests: "the multi-instance exchange and shared-login race tests",
  },
  () => {
    /**
     * Its third instance stops right after the principal call the test names: the exchange's
     * shared hold, or the mark's write, before its audit event and commit.
     */
    let race: ExchangeRace<"holdShared" | "upsert">;
    /** Another instance, which looks at the watched flow once its mark is written. */
    let fourth: WatchingInstance;
    const browser: FlowBrowser = { cookie: "exchange-shared-login-race-browser-cookie" };

    beforeEach(async () => {
      race = await openExchangeRace({
        browser,
        pause: { holdShared: "principals", upsert: "principals" },
      });
      return () => race.close();
    });
    beforeEach(async () => {
      // The principal's row locked, not yet committed: what it sees of the flow committed before.
      fourth = await race.openWatching("principals", "upsert");
    });

    /** Marks alice a shared login on `instance`. */
    const markShared = (instance: Application) =>
      instance.principals.upsert(race.first.admin, "acme", "alice", {
        population: "direct",
        sharedLogin: true,
      });

    /**
     * The audit events of acme about the exchange or alice's changes since she was registered,
     * in order; a mark is shown as `principal.updated:shared_login`.
     */
    const raceEvents = () =>
      auditEventsOf(
        race.first,
        "acme",
        (e) => exchangeEventName(e) ?? principalUpdateName("alice")(e),
      );
    const isShared = async () =>
      (await race.first.store.read(({ principals }) => principals.get("acme", "alice")))
        ?.sharedLogin === true;

    it("makes a shared-login mark made after the exchange's principal check wait for the spend", async () => {
      const { flow, code } = await race.exemptedSignIn();
      fourth.watch(flow);
      const gate = race.pauseAt("holdShared");
      const exchanging = race.third.flows.exchange(race.service, { code });
      await gate.reached;
      // The exchange has spent the code (uncommitted) and read the principal: a mark on another
      // instance now would commit before the spend, unseen, were the principal's row not held.
      const marking = markShared(fourth.app);
      const queued = await waitsOnLock(race.two.database.name, marking);
      gate.release();
      const exchanged = await exchanging;
      await marking;
      // The token was issued, so the mark must have come after the spend: never a token, under
      // an exemption, for a login marked shared before the spend.
      expect(exchanged).toMatchObject({ principal: "alice", decision: expect.any(String) });
      expect(fourth.statusAtWrite).toBe("exchanged");
      expect(queued).toBe(true);
      expect(await raceEvents()).toEqual(["flow.exchanged", "principal.updated:shared_login"]);
      expect(await isShared()).toBe(true);
      // The mark then revoked the exemption the token was issued under.
      const receipt = await race.first.store.read(({ receipts }) =>
        receipts.get(exchanged.decision),
      );
      const revoked = receipt?.decision.exemption?.id ?? "";
      expect(
        (await race.first.store.read(({ exemptions }) => exemptions.get("acme", revoked)))?.status,
      ).toBe("revoked");
    });

    it("makes an exchange wait for a shared-login mark under way, and refuses it once that commits", async () => {
      const { flow, code } = await race.exemptedSignIn();
      const gate = race.pauseAt("upsert");
      const marking = markShared(race.third);
      await gate.reached;
      // The mark is written but not committed: the exchange's early look misses it, and its
      // check in the spending transaction must wait for the outcome.
      const exchanging = fourth.app.flows.exchange(race.service, { code });
      const queued = await waitsOnLock(race.two.database.name, exchanging);
      gate.release();
      await marking;
      await expect(exchanging).rejects.toMatchObject({ code: "flow.code_invalid" });
      expect(queued).toBe(true);
      expect(await race.statusOf(flow)).toBe("completed");
      expect(await raceEvents()).toEqual([
        "principal.updated:shared_login",
        "flow.exchange_refused:shared_login",
      ]);
      expect(await isShared()).toBe(true);
    });
  },
);
