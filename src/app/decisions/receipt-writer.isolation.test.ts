// Threat: one decision whose receipt the store cannot write fails the whole group-commit batch,
// so every decision committed with it, of any tenant, fails too: a platform_service key of one
// tenant could fail another tenant's sign-ins. The poison here is an event's `claims` nested
// 20,000 levels deep, which the application layer accepts (HTTP refuses bodies nested deeper
// than 32 levels) and `JSON.stringify` cannot write.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, DecisionRequest } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openHarness, type Harness } from "../test-support/harness.js";

/** `{ x: [[[ … ]]] }`, `depth` arrays deep: JSON.parse reads it, JSON.stringify overflows. */
function deeplyNested(depth: number): Record<string, unknown> {
  let value: unknown[] = [];
  for (let i = 0; i < depth; i++) value = [value];
  return { x: value };
}

describe("group commit: one unwritable receipt does not fail the decisions it is batched with", () => {
  let h: Harness;
  let acme: Caller;
  let globex: Caller;
  const ago = (seconds: number) => new Date(h.clock.now().getTime() - seconds * 1000).toISOString();
  const signIn = (principal: string, claims?: Record<string, unknown>): DecisionRequest => ({
    principal: { id: principal },
    evidence: {
      events: [
        { method: "password", source: "platform", at: ago(60) },
        { method: "totp", source: "platform", at: ago(30), ...(claims ? { claims } : {}) },
      ],
    },
  });

  beforeEach(async () => {
    h = await openHarness();
    for (const tenant of ["acme", "globex"]) {
      await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
      await h.app.principals.upsert(h.admin, tenant, "alice", { population: "direct" });
    }
    acme = await h.caller(["platform_service"], ["acme"]);
    globex = await h.caller(["platform_service"], ["globex"]);
  });
  afterEach(() => h.close());

  it("decides globex's sign-in although acme's service sent an unwritable event at the same time", async () => {
    const [poisoned, innocent] = await Promise.allSettled([
      h.app.decisions.decide(acme, "acme", signIn("alice", deeplyNested(20_000))),
      h.app.decisions.decide(globex, "globex", signIn("alice")),
    ]);
    expect(innocent.status === "fulfilled" ? innocent.value.outcome : innocent.reason).toBe(
      "allow",
    );
    expect(poisoned.status).toBe("rejected");
    // The innocent decision's receipt and audit event are stored; nothing of the poisoned one.
    const recorded = async (tenant: string) =>
      (
        await h.store.read(({ audit }) => audit.read(chainOf(tenant), { afterSeq: 0, limit: 50 }))
      ).filter((event) => event.type === "decision.recorded");
    expect(await recorded("acme")).toEqual([]);
    const [event] = await recorded("globex");
    const id = (innocent.status === "fulfilled" ? innocent.value.id : null) ?? "";
    expect(event?.payload).toMatchObject({ decision: id });
    expect((await h.app.decisions.receipt(h.admin, id)).outcome).toBe("allow");
    expect((await h.app.audit.verify(h.admin, {})).ok).toBe(true);
  });
});
