// Threat: a deadlock between a batch of receipts and a shared-login mark on PostgreSQL, which
// the server resolves by aborting one of them: the mark answers 503 to the administrator, or the
// batch fails and every decision in it is made again or refused. A batch holds (shared) the
// exemption each of its decisions used before it writes their receipts; a mark revokes its
// principal's open exemptions, taking their rows by id. Two decisions of one principal under two
// exemptions (one approved while the other stood, and lasting longer) can arrive in one batch in
// the other order: the batch holds the later id, the mark takes the earlier and waits for the
// later, and the batch then waits for the earlier. The batch now holds its exemptions by tenant
// and id, the order the mark takes them in, so that one of the two waits for the other. Two
// instances on one database; the batch pauses after its first hold, and the mark is seen waiting
// on a lock before the pause ends.
import { afterEach, beforeEach, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import type { Caller } from "../application.js";
import { attestationTrust } from "../authenticators/webauthn.js";
import type { Context } from "../context.js";
import type { Store } from "../ports.js";
import { auditEventsOf, principalUpdateName } from "../test-support/audit-events.js";
import { pausableStore, waitsOnLock } from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import { exemptionStillStands, prepareDecision, type DecisionToRecord } from "./decisions.js";
import { ReceiptWriter } from "./receipt-writer.js";
import { RulesCache } from "./rules-cache.js";

describeOnPostgres(
  {
    title: "a batch of receipts under two exemptions of one principal, and a shared-login mark",
    skippedTitle: "a batch of receipts under two exemptions, and a shared-login mark",
    tests: "the multi-instance receipt writer lock order tests",
  },
  () => {
    let two: TwoInstances;
    let raw: Store;
    let rules: RulesCache;
    let approver: Caller;

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      await replacePolicy(two.first, "acme", { posture: "platform_mfa" });
      approver = await two.first.caller(["exemption_approver"], ["acme"]);
      raw = await openStore(two.database.url);
      rules = new RulesCache(two.first.store, two.first.clock);
    });
    afterEach(async () => {
      rules.close();
      await raw.close();
      await two.close();
    });

    /** A break-glass exemption of alice for `seconds`, approved now: its id. */
    async function exempt(seconds: number): Promise<string> {
      const { first } = two;
      const inSeconds = (n: number) =>
        new Date(first.clock.now().getTime() + n * 1000).toISOString();
      const requested = await first.app.exemptions.request(first.admin, "acme", {
        principal: "alice",
        category: "break_glass",
        justification: "Locked out during an incident",
        owner: "secops",
        startsAt: inSeconds(0),
        expiresAt: inSeconds(seconds),
        reviewAt: inSeconds(seconds),
      });
      await first.app.exemptions.approve(approver, "acme", requested.id);
      return requested.id;
    }

    /** alice's decision on a password alone, prepared now: under her longest exemption. */
    const prepare = (): Promise<DecisionToRecord> =>
      prepareDecision(
        two.first.context,
        {
          rules,
          receipts: new ReceiptWriter(two.first.context),
          attested: attestationTrust(undefined),
        },
        "acme",
        {
          principal: { id: "alice" },
          evidence: {
            events: [
              { method: "password", source: "platform", at: two.first.clock.now().toISOString() },
            ],
          },
        },
        two.service,
      );

    it("holds the batch's exemptions in the order a mark revokes them, so one waits for the other", async () => {
      const first = await exempt(3600);
      const underFirst = await prepare();
      // Approved later and lasting longer: the next decision uses it.
      const second = await exempt(7200);
      const underSecond = await prepare();
      expect([underFirst.decision.exemption?.id, underSecond.decision.exemption?.id]).toEqual([
        first,
        second,
      ]);
      // The batch's decisions in arrival order, the one under the later id first.
      const batch = first < second ? [underSecond, underFirst] : [underFirst, underSecond];

      const paused = pausableStore(raw, { hold: "exemptions" });
      const context: Context = { ...two.first.context, store: paused.store };
      const writer = new ReceiptWriter(context);
      const gate = paused.pauseAt("hold");
      // Written in one turn of the event loop: one batch, one transaction.
      const writing = Promise.allSettled(
        batch.map(({ receipt, events, decision }) =>
          writer.write(receipt, events, exemptionStillStands("acme", decision)),
        ),
      );
      await gate.reached;
      // The batch holds one exemption and has written nothing: the mark, on the other instance,
      // takes the principal's row and then the exemptions' rows, and waits for the one held.
      const marking = two.second.principals
        .upsert(two.first.admin, "acme", "alice", { population: "direct", sharedLogin: true })
        .then(
          () => "marked",
          (error: unknown) => (error as { code?: string }).code ?? String(error),
        );
      const queued = await waitsOnLock(two.database.name, marking);
      gate.release();
      const written = await writing;
      expect(queued).toBe(true);
      expect(await marking).toBe("marked");
      expect(written.map((result) => result.status)).toEqual(["fulfilled", "fulfilled"]);
      const statuses = await two.first.store.read(async ({ exemptions }) => [
        (await exemptions.get("acme", first))?.status,
        (await exemptions.get("acme", second))?.status,
      ]);
      expect(statuses).toEqual(["revoked", "revoked"]);
      // Both decisions before the mark that revoked their exemptions.
      expect(
        await auditEventsOf(two.first, "acme", (e) =>
          e.type === "decision.recorded" || e.type === "exemption.revoked"
            ? e.type
            : principalUpdateName("alice")(e),
        ),
      ).toEqual([
        "decision.recorded",
        "decision.recorded",
        "principal.updated:shared_login",
        "exemption.revoked",
        "exemption.revoked",
      ]);
    });
  },
);
