// Threat: sharing one transaction among concurrent decisions (group commit) forks or breaks the
// audit chain, answers a decision whose receipt was never committed, or lets a failed commit
// turn into an answer at all. Every decision must get its own receipt and event, in one
// unbroken chain; when a batch cannot commit, every decision in it fails closed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, DecisionRequest } from "../application.js";
import { createApplication } from "../create-application.js";
import type { Repositories, Store } from "../ports.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { countingTransactions } from "../test-support/wrapped-store.js";

describe("decisions committed in groups", () => {
  let h: Harness;
  let service: Caller;
  const ago = (seconds: number) => new Date(h.clock.now().getTime() - seconds * 1000).toISOString();
  const signIn = (principal: string, withTotp: boolean): DecisionRequest => ({
    principal: { id: principal },
    evidence: {
      events: [
        { method: "password", source: "platform", at: ago(60) },
        ...(withTotp
          ? [{ method: "totp" as const, source: "platform" as const, at: ago(30) }]
          : []),
      ],
    },
  });

  /**
   * The harness's store, whose transactions fail when they append the `failAt`-th event, alone
   * or among many, and, when `thereafter`, every later append too (a store that went down).
   */
  function failingAppends(failAt: number, thereafter = false): Store {
    let appended = 0;
    const reaches = (count: number): boolean => {
      appended += count;
      return appended >= failAt && (thereafter || appended - count < failAt);
    };
    return {
      ...h.store,
      read: (work) => h.store.read(work),
      transaction: (work) =>
        h.store.transaction((r: Repositories) =>
          work({
            ...r,
            audit: {
              ...r.audit,
              append: (chain, link) =>
                reaches(1)
                  ? Promise.reject(new Error("disk I/O error"))
                  : r.audit.append(chain, link),
              appendMany: (chain, links) =>
                reaches(links.length)
                  ? Promise.reject(new Error("disk I/O error"))
                  : r.audit.appendMany(chain, links),
            },
          }),
        ),
    };
  }

  beforeEach(async () => {
    h = await openHarness();
    for (const tenant of ["acme", "globex"]) {
      await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
      for (const principal of ["alice", "bob"]) {
        await h.app.principals.upsert(h.admin, tenant, principal, { population: "direct" });
      }
    }
    service = await h.caller(["platform_service"], ["acme", "globex"]);
  });
  afterEach(() => h.close());

  it("gives each of 300 concurrent decisions its own receipt and event, in chains that verify", async () => {
    const { store, count } = countingTransactions(h.store);
    const app = createApplication({ ...h.context, store });
    const requests = Array.from({ length: 300 }, (_, i) => ({
      tenant: i % 3 === 0 ? "globex" : "acme",
      request: signIn(i % 2 === 0 ? "alice" : "bob", i % 4 !== 3),
    }));
    const decisions = await Promise.all(
      requests.map(({ tenant, request }) => app.decisions.decide(service, tenant, request)),
    );
    await app.close();

    // Fewer commits than decisions: they were grouped.
    expect(count()).toBeLessThan(decisions.length);
    expect(new Set(decisions.map((d) => d.id)).size).toBe(300);
    for (const [i, decision] of decisions.entries()) {
      expect(decision.outcome).toBe(i % 4 !== 3 ? "allow" : "challenge");
      const receipt = await h.app.decisions.receipt(h.admin, decision.id ?? "");
      expect(receipt).toMatchObject({ tenant: requests[i]?.tenant, outcome: decision.outcome });
    }
    for (const tenant of ["acme", "globex"]) {
      const events = await h.app.audit.list(
        h.admin,
        tenant,
        { type: "decision.recorded" },
        { limit: 500 },
      );
      const expected = decisions.filter((_, i) => requests[i]?.tenant === tenant);
      expect(events.items.map((e) => e.payload.decision).sort()).toEqual(
        expected.map((d) => d.id).sort(),
      );
    }
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });

  it("fails every decision of a batch that cannot commit, writes none of it, and never allows", async () => {
    const app = createApplication({ ...h.context, store: failingAppends(7, true) });
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        app.decisions.decide(service, "acme", signIn("alice", true)),
      ),
    );
    await app.close();

    expect(settled.every((s) => s.status === "rejected")).toBe(true);
    for (const s of settled) {
      expect(s).toMatchObject({ status: "rejected", reason: { code: "store.unavailable" } });
    }
    const recorded = await h.app.audit.list(h.admin, "acme", { type: "decision.recorded" }, {});
    expect(recorded.items).toHaveLength(0);
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });

  it("writes a failed batch again member by member, so a failure that passes fails nobody", async () => {
    const app = createApplication({ ...h.context, store: failingAppends(7) });
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.decisions.decide(service, "acme", signIn("alice", true)),
      ),
    );
    await app.close();

    expect(decisions.map((d) => d.outcome)).toEqual(Array.from({ length: 20 }, () => "allow"));
    const recorded = await h.app.audit.list(
      h.admin,
      "acme",
      { type: "decision.recorded" },
      { limit: 50 },
    );
    expect(recorded.items.map((e) => e.payload.decision).sort()).toEqual(
      decisions.map((d) => d.id).sort(),
    );
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });

  it("commits the next batch after one failed", async () => {
    const app = createApplication({ ...h.context, store: failingAppends(1) });
    await expect(
      app.decisions.decide(service, "acme", signIn("alice", true)),
    ).rejects.toMatchObject({ code: "store.unavailable" });
    const decision = await app.decisions.decide(service, "acme", signIn("alice", true));
    await app.close();

    expect(decision.outcome).toBe("allow");
    const recorded = await h.app.audit.list(h.admin, "acme", { type: "decision.recorded" }, {});
    expect(recorded.items.map((e) => e.payload.decision)).toEqual([decision.id]);
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });
});
