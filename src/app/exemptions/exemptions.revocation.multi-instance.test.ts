// Threat: an exemption revoked through one instance still excuses sign-ins decided by another,
// until some cache there ages out. Decisions read a principal's exemptions from the store on
// every call, so the very next decision of the other instance, with its clock frozen, must
// already ignore it. Pins that no cache of exemptions creeps into the decision path.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Application, Caller, DecisionRequest } from "../application.js";
import { ManualClock, type Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";

const DAY_MS = 86_400_000;

describeOnPostgres(
  {
    title: "Exemption revocation on two instances sharing PostgreSQL",
    skippedTitle: "Exemption revocation on two instances",
    tests: "multi-instance exemption revocation tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"], second: { clock: new ManualClock() } });
      ({ first, second, service } = two);
    });
    afterAll(async () => {
      await two?.close();
    });

    /** A password alone: only an exemption lets it through the default MFA policy. */
    const passwordOnly = (): DecisionRequest => ({
      principal: { id: "alice" },
      evidence: {
        events: [
          {
            method: "password",
            source: "platform",
            at: new Date(first.clock.now().getTime() - 60_000).toISOString(),
          },
        ],
      },
    });

    it("stops excusing sign-ins on the other instance with its next decision", async () => {
      const requester = await first.caller(["tenant_admin"], ["acme"]);
      const approver = await first.caller(["exemption_approver"], ["acme"]);
      const now = first.clock.now().getTime();
      const requested = await first.app.exemptions.request(requester, "acme", {
        principal: "alice",
        category: "temporary_access",
        justification: "Phone lost; replacement on the way",
        owner: "it-helpdesk",
        startsAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 5 * DAY_MS).toISOString(),
        reviewAt: new Date(now + 2 * DAY_MS).toISOString(),
      });
      await first.app.exemptions.approve(approver, "acme", requested.id);
      const excused = await second.decisions.decide(service, "acme", passwordOnly());
      expect(excused).toMatchObject({ outcome: "allow", exemption: { id: requested.id } });

      await first.app.exemptions.revoke(requester, "acme", requested.id, { reason: "phone found" });
      const after = await second.decisions.decide(service, "acme", passwordOnly());
      expect(after.outcome).not.toBe("allow");
      expect(after.exemption).toBeNull();
    });
  },
);
