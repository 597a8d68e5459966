// Threat (seed 001): on PostgreSQL (READ COMMITTED), an approval that reads the principal with a
// plain SELECT misses a shared-login mark committed by another instance after that read and
// before the approval commits: a shared login's exemption is approved, which no reason excuses.
// The approval holds the principal's row (FOR SHARE) until it commits: a mark made on another
// instance then waits for the approval and revokes what it approved, and an approval waits for a
// mark under way and then refuses. A mark revokes the principal's open exemptions before it takes
// the audit head, as an administrator's revocation does: each waits for the other, never both
// for each other. Instances on one database; one of them pauses inside a transaction, and the other is
// seen waiting on a lock before the pause ends.
import { beforeEach, expect, it } from "vitest";
import type { Application, Caller } from "../application.js";
import { auditEventsOf, principalUpdateName } from "../test-support/audit-events.js";
import {
  openPausableInstance,
  waitsOnLock,
  type PausableInstance,
} from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";

describeOnPostgres(
  {
    title: "an exemption approved while its principal is marked a shared login on another instance",
    skippedTitle: "an exemption approved while its principal is marked a shared login",
    tests: "the multi-instance exemption approval and shared-login race tests",
  },
  () => {
    let two: TwoInstances;
    /**
     * Stops right after the approval's run-length check, the first call after its principal
     * read, whichever read that is; or right after the mark's write, before its audit event.
     */
    let third: PausableInstance<"listInForce" | "upsert" | "update" | "holdShared">;
    let approver: Caller;

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      return () => two.close();
    });
    beforeEach(async () => {
      third = await openPausableInstance(two, {
        listInForce: "exemptions",
        upsert: "principals",
        update: "exemptions",
        holdShared: "principals",
      });
      approver = await two.first.caller(["exemption_approver"], ["acme"]);
      return () => third.close();
    });

    /**
     * A break-glass exemption of alice for an hour, requested by acme's administrator through
     * `instance` (the first one's, unless given).
     */
    const requested = async (instance: Application = two.first.app) => {
      const { first } = two;
      const inSeconds = (seconds: number) =>
        new Date(first.clock.now().getTime() + seconds * 1000).toISOString();
      const exemption = await instance.exemptions.request(first.admin, "acme", {
        principal: "alice",
        category: "break_glass",
        justification: "Locked out during an incident",
        owner: "secops",
        startsAt: inSeconds(0),
        expiresAt: inSeconds(3600),
        reviewAt: inSeconds(3600),
      });
      return exemption.id;
    };

    /** Marks alice a shared login on `instance`. */
    const markShared = (instance: Application) =>
      instance.principals.upsert(two.first.admin, "acme", "alice", {
        population: "direct",
        sharedLogin: true,
      });

    /** The audit events of acme about the approval, a revocation or alice's changes, in order. */
    const raceEvents = () =>
      auditEventsOf(two.first, "acme", (e) =>
        e.type === "exemption.approved" || e.type === "exemption.revoked"
          ? e.type
          : principalUpdateName("alice")(e),
      );
    const statusOf = async (exemption: string) =>
      (await two.first.store.read(({ exemptions }) => exemptions.get("acme", exemption)))?.status;

    it("makes a shared-login mark made after the approval's principal check wait for the approval", async () => {
      const exemption = await requested();
      const gate = third.pauseAt("listInForce");
      const approving = third.app.exemptions.approve(approver, "acme", exemption);
      await gate.reached;
      // The approval has found alice not shared and written nothing yet: a mark on another
      // instance now would commit before the approval, unseen, were the principal's row not held.
      const marking = markShared(two.first.app);
      const queued = await waitsOnLock(two.database.name, marking);
      gate.release();
      const approved = await approving;
      await marking;
      // The approval came first, when alice was not marked: the mark after it revokes what it
      // approved, never an approval over a mark already committed.
      expect(queued).toBe(true);
      expect(approved.status).toBe("approved");
      expect(await statusOf(exemption)).toBe("revoked");
      expect(await raceEvents()).toEqual([
        "exemption.approved",
        "principal.updated:shared_login",
        "exemption.revoked",
      ]);
    });

    it("makes a shared-login mark wait for a request under way, and revokes what it filed", async () => {
      const gate = third.pauseAt("holdShared");
      const requesting = requested(third.app);
      await gate.reached;
      // The request has found alice not shared and filed nothing yet: a mark that did not wait
      // would sweep before the request's row exists, and leave it requested on a shared login.
      const marking = markShared(two.first.app);
      const queued = await waitsOnLock(two.database.name, marking);
      gate.release();
      const filed = await requesting;
      await marking;
      expect(queued).toBe(true);
      expect(await statusOf(filed)).toBe("revoked");
      expect(await raceEvents()).toEqual(["principal.updated:shared_login", "exemption.revoked"]);
    });

    it("makes a shared-login mark wait for a revocation under way, and revokes nothing twice", async () => {
      const exemption = await requested();
      await two.first.app.exemptions.approve(approver, "acme", exemption);
      const gate = third.pauseAt("update");
      const revoking = third.app.exemptions.revoke(two.first.admin, "acme", exemption, {
        reason: "The incident is over",
      });
      await gate.reached;
      // The revocation holds the exemption's row and has not yet taken the audit head: the mark
      // must wait at the row, holding no head the revocation needs.
      const marking = markShared(two.first.app);
      const queued = await waitsOnLock(two.database.name, marking);
      gate.release();
      await revoking;
      await marking;
      expect(queued).toBe(true);
      expect(await statusOf(exemption)).toBe("revoked");
      expect(await raceEvents()).toEqual([
        "exemption.approved",
        "exemption.revoked",
        "principal.updated:shared_login",
      ]);
      const revocations = await two.first.app.audit.list(
        two.first.admin,
        "acme",
        { type: "exemption.revoked" },
        {},
      );
      expect(revocations.items.map((e) => e.payload["reason"])).toEqual(["The incident is over"]);
    });

    it("makes an approval wait for a shared-login mark under way, and refuses it once that commits", async () => {
      const exemption = await requested();
      const gate = third.pauseAt("upsert");
      const marking = markShared(third.app);
      await gate.reached;
      // The mark is written but not committed: the approval's read must wait for the outcome.
      const approving = two.first.app.exemptions.approve(approver, "acme", exemption);
      const queued = await waitsOnLock(two.database.name, approving);
      gate.release();
      await marking;
      await expect(approving).rejects.toMatchObject({ code: "exemption.shared_login_refused" });
      expect(queued).toBe(true);
      expect(await statusOf(exemption)).toBe("revoked");
      expect(await raceEvents()).toEqual(["principal.updated:shared_login", "exemption.revoked"]);
    });
  },
);
