// Threat: an emergency mandate or a policy change made through one instance is not enforced by
// the others until their caches age out. Two instances share one PostgreSQL database; a change
// made through one must bind decisions of the other within a second. The clocks are frozen, so
// the caches' one-second expiry cannot be what makes it pass: only the change feed can.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Application, Caller, DecisionRequest } from "../application.js";
import { ManualClock, type Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";

describeOnPostgres(
  {
    title: "two instances on one PostgreSQL database",
    skippedTitle: "two instances on one PostgreSQL database",
    tests: "multi-instance decision tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    const signIn = (h: Harness): DecisionRequest => ({
      principal: { id: "alice" },
      evidence: {
        events: [
          {
            method: "password",
            source: "platform",
            at: new Date(h.clock.now().getTime() - 60_000).toISOString(),
          },
          {
            method: "totp",
            source: "platform",
            at: new Date(h.clock.now().getTime() - 30_000).toISOString(),
          },
        ],
      },
    });

    /** How long the second instance took to decide `outcome`, polling every 20 ms for up to 3 s. */
    async function timeUntil(outcome: string): Promise<number> {
      const started = performance.now();
      for (;;) {
        const decision = await second.decisions.decide(service, "acme", signIn(first));
        if (decision.outcome === outcome) return performance.now() - started;
        if (performance.now() - started > 3000) return Infinity;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"], second: { clock: new ManualClock() } });
      ({ first, second, service } = two);
    });
    afterAll(async () => {
      await two?.close();
    });

    it("enforces an emergency mandate created through the other instance within a second", async () => {
      expect((await second.decisions.decide(service, "acme", signIn(first))).outcome).toBe("allow");
      await first.app.mandates.create(first.admin, {
        id: "emergency",
        mandate: {
          scope: { tenants: "all" },
          require: { phishingResistant: true },
          exemptible: false,
        },
        rationale: "credential-phishing campaign in progress",
      });
      expect(await timeUntil("challenge")).toBeLessThan(1000);
    });

    it("refuses an API key revoked through the other instance within a second", async () => {
      const { key, secret } = await first.app.apiKeys.create(first.admin, {
        name: "backend",
        roles: ["platform_service"],
        tenants: ["acme"],
      });
      await expect(second.authenticate(secret)).resolves.toMatchObject({ id: key.id });
      await first.app.apiKeys.revoke(first.admin, key.id);
      const started = performance.now();
      let refusedAfter = Infinity;
      while (performance.now() - started < 3000) {
        const refused = await second.authenticate(secret).then(
          () => false,
          () => true,
        );
        if (refused) {
          refusedAfter = performance.now() - started;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(refusedAfter).toBeLessThan(1000);
    });

    it("keeps one unbroken chain when both instances commit decisions in groups at once", async () => {
      const decisions = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 === 0 ? first.app : second).decisions.decide(service, "acme", signIn(first)),
        ),
      );
      expect(new Set(decisions.map((d) => d.id)).size).toBe(60);
      const recorded = new Set<unknown>();
      let after: string | undefined;
      for (;;) {
        const page = await first.app.audit.list(
          first.admin,
          "acme",
          { type: "decision.recorded" },
          after === undefined ? { limit: 200 } : { after, limit: 200 },
        );
        for (const event of page.items) recorded.add(event.payload.decision);
        if (page.next === undefined) break;
        after = page.next;
      }
      for (const decision of decisions) expect(recorded.has(decision.id)).toBe(true);
      expect(await first.app.audit.verify(first.admin, {})).toMatchObject({ ok: true });
    });

    it("enforces a policy change made through the other instance within a second", async () => {
      await first.app.mandates.retire(first.admin, "emergency", {
        rationale: "campaign over",
        ifMatch: 1,
      });
      expect(await timeUntil("allow")).toBeLessThan(1000);
      await first.app.policies.replace(first.admin, "acme", {
        policy: { posture: "phishing_resistant" },
        rationale: "uplift",
        ifMatch: 1,
      });
      expect(await timeUntil("challenge")).toBeLessThan(1000);
    });

    // The instance that made a change must not wait for its own NOTIFY to come back: the very
    // next decision it makes, once the change is answered, already binds it (frozen clock).
    it("enforces a mandate at once on the instance that created it", async () => {
      const before = await first.app.decisions.decide(service, "acme", signIn(first));
      expect(before.versions.mandates.map((m) => m.id)).not.toContain("local-uplift");
      await first.app.mandates.create(first.admin, {
        id: "local-uplift",
        mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: false },
        rationale: "made here, enforced here without delay",
      });
      const after = await first.app.decisions.decide(service, "acme", signIn(first));
      expect(after.versions.mandates.map((m) => m.id)).toContain("local-uplift");
    });
  },
);
