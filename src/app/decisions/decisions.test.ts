import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, DecisionRequest } from "../application.js";
import type { Repositories, Store } from "../ports.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("decisions through the service", () => {
  let h: Harness;
  let service: Caller;
  const ago = (seconds: number) => new Date(h.clock.now().getTime() - seconds * 1000).toISOString();
  const signIn = (events: DecisionRequest["evidence"]["events"]): DecisionRequest => ({
    principal: { id: "alice" },
    evidence: { events },
  });
  const passwordAndTotp = () =>
    signIn([
      { method: "password", source: "platform", at: ago(60) },
      { method: "totp", source: "platform", at: ago(30) },
    ]);

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
  });
  afterEach(() => h.close());

  it("decides with the tenant's current policy and stores a receipt an auditor can read", async () => {
    const decision = await h.app.decisions.decide(service, "acme", passwordAndTotp());
    expect(decision.outcome).toBe("allow");
    const auditor = await h.caller(["tenant_auditor"], ["acme"]);
    const receipt = await h.app.decisions.receipt(auditor, decision.id ?? "");
    expect(receipt).toMatchObject({
      tenant: "acme",
      principal: "alice",
      outcome: "allow",
      decision,
    });
    expect(receipt.inputSummary).toMatchObject({
      population: "direct",
      events: [{ method: "password" }, { method: "totp" }],
    });
  });

  // DESIGN: times in ISO 8601 UTC everywhere in the API. The caller's offsets are not kept.
  it("keeps the evidence's times in the receipt in UTC, whatever offset they were sent with", async () => {
    const offset = (seconds: number) => {
      const at = new Date(h.clock.now().getTime() - seconds * 1000 + 2 * 3_600_000);
      return at.toISOString().replace("Z", "+02:00");
    };
    const decision = await h.app.decisions.decide(service, "acme", {
      ...signIn([
        { method: "password", source: "platform", at: offset(60) },
        { method: "totp", source: "platform", at: offset(30) },
      ]),
      lastActivityAt: offset(90),
    });
    expect(decision.outcome).toBe("allow");
    const receipt = await h.app.decisions.receipt(h.admin, decision.id ?? "");
    expect(receipt.inputSummary).toMatchObject({
      events: [{ at: ago(60) }, { at: ago(30) }],
      lastActivityAt: ago(90),
    });
  });

  it("writes the decision's audit event with the receipt", async () => {
    const decision = await h.app.decisions.decide(
      service,
      "acme",
      signIn([{ method: "password", source: "platform", at: ago(10) }]),
    );
    const audit = await h.app.audit.list(h.admin, "acme", { type: "decision.recorded" }, {});
    expect(audit.items).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({
          decision: decision.id,
          outcome: "challenge",
          policyVersion: 1,
        }),
      }),
    ]);
  });

  it("records each break-glass use as its own audit event", async () => {
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    const approver = await h.caller(["exemption_approver"], ["acme"]);
    const e = await h.app.exemptions.request(admin, "acme", {
      principal: "alice",
      category: "break_glass",
      justification: "IdP outage",
      owner: "secops",
      startsAt: ago(0),
      expiresAt: ago(-3600),
      reviewAt: ago(-1800),
    });
    await h.app.exemptions.approve(approver, "acme", e.id);
    const decision = await h.app.decisions.decide(
      service,
      "acme",
      signIn([{ method: "password", source: "platform", at: ago(5) }]),
    );
    expect(decision).toMatchObject({ outcome: "allow", exemption: { id: e.id, breakGlass: true } });
    const events = await h.app.audit.list(
      h.admin,
      "acme",
      { type: "exemption.break_glass_used" },
      {},
    );
    expect(events.items).toHaveLength(1);
  });

  it("enforces a new emergency mandate on the very next decision", async () => {
    expect((await h.app.decisions.decide(service, "acme", passwordAndTotp())).outcome).toBe(
      "allow",
    );
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: {
        scope: { tenants: "all" },
        require: { phishingResistant: true },
        exemptible: false,
      },
      rationale: "active phishing campaign",
    });
    const after = await h.app.decisions.decide(service, "acme", passwordAndTotp());
    expect(after.outcome).toBe("challenge");
    expect(after.versions.mandates).toEqual([{ id: "uplift", version: 1 }]);
  });

  it("enforces a policy change on the very next decision", async () => {
    await h.app.decisions.decide(service, "acme", passwordAndTotp());
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "phishing_resistant" },
      rationale: "uplift",
      ifMatch: 1,
    });
    expect((await h.app.decisions.decide(service, "acme", passwordAndTotp())).outcome).toBe(
      "challenge",
    );
  });

  it("uses a principal's new population on the very next decision", async () => {
    const token = {
      principal: { id: "alice" },
      evidence: { events: [], grant: "client_credentials" as const },
    };
    expect((await h.app.decisions.decide(service, "acme", token)).outcome).toBe("challenge");
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "integration" });
    expect((await h.app.decisions.decide(service, "acme", token)).outcome).toBe("allow");
  });

  it("stops using a revoked exemption on the very next decision", async () => {
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    const approver = await h.caller(["exemption_approver"], ["acme"]);
    const passwordOnly = () => signIn([{ method: "password", source: "platform", at: ago(5) }]);
    expect((await h.app.decisions.decide(service, "acme", passwordOnly())).outcome).toBe(
      "challenge",
    );
    const e = await h.app.exemptions.request(admin, "acme", {
      principal: "alice",
      category: "break_glass",
      justification: "IdP outage",
      owner: "secops",
      startsAt: ago(0),
      expiresAt: ago(-3600),
      reviewAt: ago(-1800),
    });
    await h.app.exemptions.approve(approver, "acme", e.id);
    expect((await h.app.decisions.decide(service, "acme", passwordOnly())).outcome).toBe("allow");
    await h.app.exemptions.revoke(admin, "acme", e.id, { reason: "outage over" });
    expect((await h.app.decisions.decide(service, "acme", passwordOnly())).outcome).toBe(
      "challenge",
    );
  });

  it("fails closed when the store cannot be read: no decision, never allow", async () => {
    const broken: Store = {
      ...h.store,
      read: () => Promise.reject(new Error("connection refused")),
      transaction: () => Promise.reject(new Error("connection refused")),
    };
    const { createApplication } = await import("../create-application.js");
    const app = createApplication({ ...h.context, store: broken });
    await expect(app.decisions.decide(service, "acme", passwordAndTotp())).rejects.toMatchObject({
      code: "store.unavailable",
    });
    await app.close();
  });

  it("returns no decision when its receipt cannot be written", async () => {
    const failingWrites: Store = {
      ...h.store,
      transaction: (work) =>
        h.store.transaction((r: Repositories) =>
          work({
            ...r,
            receipts: {
              ...r.receipts,
              insert: () => Promise.reject(new Error("disk full")),
              insertMany: () => Promise.reject(new Error("disk full")),
            },
          }),
        ),
    };
    const { createApplication } = await import("../create-application.js");
    const app = createApplication({ ...h.context, store: failingWrites });
    await expect(app.decisions.decide(service, "acme", passwordAndTotp())).rejects.toMatchObject({
      code: "store.unavailable",
    });
    const audit = await h.app.audit.list(h.admin, "acme", { type: "decision.recorded" }, {});
    expect(audit.items).toHaveLength(0);
    await app.close();
  });

  it("refuses federated evidence asserted by the caller: only verified assertions count", async () => {
    const claimed = signIn([
      {
        method: "federated",
        source: "idp",
        tenant: "acme",
        idp: "okta",
        at: ago(10),
        assurance: { aal: 3, phishingResistant: true },
      },
    ]);
    await expect(h.app.decisions.decide(service, "acme", claimed)).rejects.toMatchObject({
      code: "request.invalid",
    });
  });

  it("takes a registered principal's population over the request's", async () => {
    await h.app.principals.upsert(h.admin, "acme", "sync", { population: "direct" });
    const decision = await h.app.decisions.decide(service, "acme", {
      principal: { id: "sync", population: "integration" },
      evidence: { events: [], grant: "client_credentials" },
    });
    expect(decision.outcome).toBe("challenge");
  });

  it("decides for a tenant created just after a decision found no such tenant", async () => {
    const everywhere = await h.caller(["platform_service"], "all");
    const request: DecisionRequest = {
      principal: { id: "alice", population: "direct" },
      evidence: passwordAndTotp().evidence,
    };
    await expect(h.app.decisions.decide(everywhere, "newco", request)).rejects.toMatchObject({
      code: "not_found",
    });
    await h.app.tenants.create(h.admin, { id: "newco", name: "Newco" });
    // The clock has not moved: only a cache that kept "no such tenant" would refuse it still.
    expect((await h.app.decisions.decide(everywhere, "newco", request)).outcome).toBe("allow");
  });

  it("refuses an unregistered principal without a population", async () => {
    await expect(
      h.app.decisions.decide(service, "acme", {
        principal: { id: "ghost" },
        evidence: { events: [] },
      }),
    ).rejects.toMatchObject({
      code: "principal.unknown",
    });
  });

  it("does not let a service credential of one tenant decide for another", async () => {
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    await expect(
      h.app.decisions.decide(service, "globex", passwordAndTotp()),
    ).rejects.toMatchObject({ code: "not_found" });
  });
});
