// Threat: a recovery-code replacement racing a verification on another instance whose clock
// differs. The replacement withdraws what the principal proved before it (a leaked code's use
// kept in a session), and the decision API used to tell before from after by the instances'
// clocks: a use that committed before the replacement, on an instance running an hour ahead,
// still counted, and a use after it, on an instance running behind, was refused. Now each is
// placed by its audit event's position in the tenant's chain against the replacement's event,
// and appends to one chain are serialised: the one that commits first stands below. Two instances
// on one PostgreSQL database; the race is forced (one transaction held open right after its
// append, the other seen waiting on a lock), not slept for.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { openStore } from "../../storage/open-store.js";
import type { Application, Caller } from "../application.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { CountingRandom, ManualClock, type Harness } from "../test-support/harness.js";
import { pausableStore, waitsOnLock, type Gate } from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import type { Store } from "../ports.js";

const HOUR_MS = 3_600_000;

describeOnPostgres(
  {
    title: "recovery-code replacement racing a verification, instances' clocks apart",
    skippedTitle: "recovery-code replacement racing a verification",
    tests: "the withdrawal-order race tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let service: Caller;
    /** An instance whose clock runs an hour ahead of the first's, and which can be paused. */
    let ahead: { app: Application; clock: ManualClock; pauseAt(point: "append"): Gate };
    let raw: Store | undefined;
    let closeAhead: (() => Promise<void>) | undefined;
    let codes: readonly string[];

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, service } = two);
      raw = await openStore(two.database.url);
      const paused = pausableStore(raw, { append: "audit" });
      const clock = new ManualClock(new Date(first.clock.now().getTime() + HOUR_MS).toJSON());
      const app = first.application({
        store: paused.store,
        random: new CountingRandom(2_000_000),
        clock,
      });
      closeAhead = () => app.close();
      ahead = { app, clock, pauseAt: (point) => paused.pauseAt(point) };
      ({ codes } = await first.app.recoveryCodes.generate(service, "acme", "alice"));
    });
    afterEach(async () => {
      await closeAhead?.();
      await raw?.close();
      await two?.close();
      closeAhead = undefined;
      raw = undefined;
      two = undefined;
    });

    /** `app`'s decision on alice's sign-in with a password and `mfa`, at its own clock. */
    const decide = (app: Application, clock: ManualClock, mfa: AuthenticationEvent) =>
      app.decisions.decide(service, "acme", {
        principal: { id: "alice" },
        evidence: {
          events: [{ method: "password", source: "platform", at: clock.now().toJSON() }, mfa],
        },
      });

    it("refuses a use that committed before the replacement, though its instance's clock dates it an hour after", async () => {
      const gate = ahead.pauseAt("append");
      const using = ahead.app.recoveryCodes.verify(service, "acme", "alice", { code: codes[0]! });
      await gate.reached;
      // The use holds its transaction open, its event appended: the replacement queues behind it.
      const replacing = first.app.recoveryCodes.generate(service, "acme", "alice");
      expect(await waitsOnLock(two!.database.name, replacing)).toBe(true);
      gate.release();
      const { event } = await using;
      await replacing;
      const principal = await first.app.principals.get(first.admin, "acme", "alice");
      expect(Date.parse(event.at)).toBeGreaterThan(Date.parse(principal.proofsWithdrawnAt ?? ""));
      expect(await outcomeOf(decide(ahead.app, ahead.clock, event))).toMatchObject({
        code: "evidence.withdrawn",
      });
      expect(await outcomeOf(decide(first.app, first.clock, event))).toMatchObject({
        code: "evidence.withdrawn",
      });
    });

    it("counts a use after the replacement, though its instance's clock dates it an hour before, and an old code queued behind it verifies nothing", async () => {
      // The platform's backend replacing codes needs a fresh MFA by the replacing instance's clock.
      await provedMfaJustNow({ clock: ahead.clock, store: first.store }, "acme", "alice");
      const gate = ahead.pauseAt("append");
      const replacing = ahead.app.recoveryCodes.generate(service, "acme", "alice");
      await gate.reached;
      // An old code, checked against the set still there, then queued behind the replacement.
      const old = outcomeOf(
        first.app.recoveryCodes.verify(service, "acme", "alice", { code: codes[1]! }),
      );
      expect(await waitsOnLock(two!.database.name, old)).toBe(true);
      gate.release();
      const fresh = await replacing;
      expect(await old).toMatchObject({ code: "recovery_code.wrong_code" });
      const { event } = await first.app.recoveryCodes.verify(service, "acme", "alice", {
        code: fresh.codes[0]!,
      });
      const principal = await first.app.principals.get(first.admin, "acme", "alice");
      expect(Date.parse(event.at)).toBeLessThan(Date.parse(principal.proofsWithdrawnAt ?? ""));
      expect(await decide(first.app, first.clock, event)).toMatchObject({ outcome: "allow" });
      expect(await decide(ahead.app, ahead.clock, event)).toMatchObject({ outcome: "allow" });
    });
  },
);
