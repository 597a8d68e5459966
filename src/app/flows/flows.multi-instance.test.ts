// Threat: a flow's one-time code exchanged twice by racing two server instances, or a flow
// completed on one instance and walked again on the other (DESIGN invariant 7). Two instances
// share one PostgreSQL database; every move of a flow is a compare-and-set there.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Application, Caller, FlowBrowser } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";

const RETURN = "https://app.acme.example/signed-in";

describeOnPostgres(
  {
    title: "hosted flows on two instances sharing PostgreSQL",
    skippedTitle: "hosted flows on two instances",
    tests: "multi-instance flow tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    const browser: FlowBrowser = { cookie: "multi-instance-browser-0123456789" };

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, second, service } = two);
      await first.app.tenants.setReturnUrls(first.admin, "acme", { returnUrls: [RETURN] });
      const { record } = await first.app.policies.current(first.admin, "acme");
      await first.app.policies.replace(first.admin, "acme", {
        policy: { posture: "mfa_optional" },
        rationale: "password alone suffices here: these tests are about the flow itself",
        ifMatch: record.version,
      });
    });
    afterAll(async () => {
      await two?.close();
    });

    /** A flow created on one instance and completed on the other: its code. */
    async function completedCode(): Promise<string> {
      const started = await first.app.flows.create(service, "acme", {
        principal: { id: "alice" },
        verified: [{ method: "password", source: "platform", at: first.clock.now().toISOString() }],
        returnTo: RETURN,
      });
      const { flow } = started;
      const screen = await second.flows.show("acme", flow, browser, {
        opening: openingOf(started),
      });
      if (screen.kind !== "redirect") throw new Error(`not completed: ${screen.kind}`);
      expect(await first.app.flows.show("acme", flow, browser)).toMatchObject({
        code: "flow.used",
      });
      return new URL(screen.location).searchParams.get("code") ?? "";
    }

    it("exchanges a code exactly once when both instances race for it", async () => {
      for (let round = 0; round < 3; round += 1) {
        const code = await completedCode();
        const outcomes = await Promise.all(
          [first.app, second, first.app, second].map(
            async (app) => (await outcomeOf(app.flows.exchange(service, { code }))).code,
          ),
        );
        expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "flow.code_invalid")).toHaveLength(3);
      }
    });

    it("completes a flow once when both instances settle it together", async () => {
      const other: FlowBrowser = { cookie: "both-instances-0123456789abcdef" };
      const fresh = await first.app.flows.create(service, "acme", {
        principal: { id: "alice" },
        verified: [{ method: "password", source: "platform", at: first.clock.now().toISOString() }],
        returnTo: RETURN,
      });
      // The browser's first visit reaches both instances at once, each with the opening secret.
      const opening = openingOf(fresh);
      const screens = await Promise.all([
        first.app.flows.show("acme", fresh.flow, other, { opening }),
        second.flows.show("acme", fresh.flow, other, { opening }),
      ]);
      expect(screens.map((s) => s.kind).sort()).toEqual(["failed", "redirect"]);
      const events = await first.store.read(({ audit }) =>
        audit.read(chainOf("acme"), { afterSeq: 0, limit: 1000 }),
      );
      const ofFlow = (type: string) =>
        events.filter((e) => e.type === type && e.actor === `flow:${fresh.flow}`);
      expect(ofFlow("flow.completed")).toHaveLength(1);
      expect(ofFlow("decision.recorded")).toHaveLength(1);
    });
  },
);
