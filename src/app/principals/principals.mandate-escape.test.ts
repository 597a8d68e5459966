// Threat: a tenant administrator escapes a platform mandate that no one can be exempted from by
// moving the people it binds out of its reach: making them guests (a guest is out of every MFA
// rule; issue 2: `guest` is always `not_applicable`) or integrations (a token-based grant needs
// no MFA), registering as such someone the platform has been deciding as a person, or moving
// them to a population its scope leaves out. Each would excuse them for good, with no approver
// and no expiry. Under such a mandate only a platform administrator can do it. A mandate that
// can be exempted is no different for a move: an exemption excuses someone only for a bounded
// time and with another party's approval, never one administrator for ever; so moving someone
// it binds out of its reach is a platform administrator's act too. Registering a new principal
// (a guest too) under it stays the tenant administrator's.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Population } from "../../core/vocabulary.js";
import type { Caller, MandateInput } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("principals: moving someone out of a mandate's reach", () => {
  let h: Harness;
  let tenantAdmin: Caller;
  let service: Caller;
  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    tenantAdmin = await h.caller(["tenant_admin"], ["acme"]);
    service = await h.caller(["platform_service"], ["acme"]);
    await h.app.principals.upsert(tenantAdmin, "acme", "alice", { population: "direct" });
  });
  afterEach(() => h.close());

  const mandate = (overrides: Partial<MandateInput> = {}) =>
    h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: {
        scope: { tenants: "all" },
        require: { minAal: 2 },
        exemptible: false,
        ...overrides,
      },
      rationale: "phishing campaign",
    });
  const makeGuest = (caller: Caller = tenantAdmin) =>
    h.app.principals.upsert(caller, "acme", "alice", { population: "guest" });
  const passwordOnly = () =>
    h.app.decisions.decide(service, "acme", {
      principal: { id: "alice" },
      evidence: {
        events: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      },
    });

  it("refuses the tenant administrator, and the mandate still binds the person", async () => {
    await mandate();
    await expect(makeGuest()).rejects.toMatchObject({
      code: "principal.population_locked",
      message: expect.stringContaining("uplift"),
    });
    expect((await h.app.principals.get(tenantAdmin, "acme", "alice")).population).toBe("direct");
    expect((await passwordOnly()).outcome).toBe("challenge");
  });

  it("lets a platform administrator do it, audited under their name", async () => {
    await mandate();
    expect((await makeGuest(h.admin)).population).toBe("guest");
    const events = await h.store.read(({ audit }) =>
      audit.read(chainOf("acme"), { afterSeq: 0, limit: 100 }),
    );
    expect(events.at(-1)).toMatchObject({
      type: "principal.updated",
      actor: h.admin.id,
      payload: { id: "alice", population: "guest", previousPopulation: "direct" },
    });
    expect((await passwordOnly()).outcome).toBe("not_applicable");
  });

  it("refuses it for a mandate whose window has not opened yet", async () => {
    await mandate({ activeFrom: "2026-12-01T00:00:00Z" });
    await expect(makeGuest()).rejects.toMatchObject({ code: "principal.population_locked" });
  });

  it("allows it when no mandate binds the person", async () => {
    expect((await makeGuest()).population).toBe("guest");
  });

  it.each([
    ["another tenant", { scope: { tenants: ["globex"] } }],
    ["another population", { scope: { tenants: "all", populations: ["sso"] } }],
  ] as const)("allows it for a mandate of %s", async (_, overrides) => {
    await mandate(overrides);
    expect((await makeGuest()).population).toBe("guest");
  });

  it("allows it once the mandate's window has closed, to the second", async () => {
    await mandate({ activeUntil: new Date(h.clock.now().getTime() + 60_000).toISOString() });
    h.clock.advance(59);
    await expect(makeGuest()).rejects.toMatchObject({ code: "principal.population_locked" });
    h.clock.advance(1);
    expect((await makeGuest()).population).toBe("guest");
  });

  it("allows it once the mandate is retired", async () => {
    const created = await mandate();
    await h.app.mandates.retire(h.admin, "uplift", { rationale: "over", ifMatch: created.version });
    expect((await makeGuest()).population).toBe("guest");
  });

  it("refuses a move to a population the mandate's scope leaves out, allows one it covers", async () => {
    await mandate({ scope: { tenants: "all", populations: ["direct", "api_human"] } });
    const move = (population: "sso" | "api_human" | "direct") =>
      h.app.principals.upsert(tenantAdmin, "acme", "alice", { population });
    await expect(move("sso")).rejects.toMatchObject({
      code: "principal.population_locked",
      message: expect.stringContaining("as sso"),
    });
    expect((await move("api_human")).population).toBe("api_human");
    expect((await move("direct")).population).toBe("direct");
  });

  it("refuses a move to integration, which a token-based grant takes out of every rule", async () => {
    await mandate();
    await expect(
      h.app.principals.upsert(tenantAdmin, "acme", "alice", { population: "integration" }),
    ).rejects.toMatchObject({ code: "principal.population_locked" });
    const token = await h.app.decisions.decide(service, "acme", {
      principal: { id: "alice" },
      evidence: { events: [], grant: "client_credentials" },
    });
    expect(token.outcome).not.toBe("allow");
  });

  it("refuses registering as a guest someone the platform was deciding as a person", async () => {
    await mandate();
    const carol = () =>
      h.app.decisions.decide(service, "acme", {
        principal: { id: "carol", population: "direct" },
        evidence: {
          events: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
        },
      });
    expect((await carol()).outcome).toBe("challenge");
    for (const population of ["guest", "integration"] as const) {
      await expect(
        h.app.principals.upsert(tenantAdmin, "acme", "carol", { population }),
      ).rejects.toMatchObject({ code: "principal.population_locked" });
    }
    expect((await carol()).outcome).toBe("challenge");
    // A population the mandate reaches stays the tenant administrator's to register.
    expect(
      (await h.app.principals.upsert(tenantAdmin, "acme", "carol", { population: "sso" }))
        .population,
    ).toBe("sso");
  });

  it("refuses registering someone into a person population the mandate leaves out", async () => {
    await mandate({ scope: { tenants: "all", populations: ["sso"] } });
    const erin = () =>
      h.app.decisions.decide(service, "acme", {
        principal: { id: "erin", population: "sso" },
        evidence: {
          events: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
        },
      });
    expect((await erin()).versions.mandates.map((m) => m.id)).toEqual(["uplift"]);
    await expect(
      h.app.principals.upsert(tenantAdmin, "acme", "erin", { population: "direct" }),
    ).rejects.toMatchObject({ code: "principal.population_locked" });
    expect((await erin()).versions.mandates.map((m) => m.id)).toEqual(["uplift"]);
    expect(
      (await h.app.principals.upsert(h.admin, "acme", "erin", { population: "direct" })).population,
    ).toBe("direct");
  });

  it("leaves new guests and integrations to the tenant administrator when no such mandate binds people", async () => {
    await mandate({ exemptible: true });
    for (const [id, population] of [
      ["bob", "guest"],
      ["ci-bot", "integration"],
    ] as const) {
      const created = await h.app.principals.upsert(tenantAdmin, "acme", id, { population });
      expect(created.population).toBe(population);
    }
  });

  it("leaves updating a guest's other details to the tenant administrator", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "bob", { population: "guest" });
    await mandate();
    const renamed = await h.app.principals.upsert(tenantAdmin, "acme", "bob", {
      population: "guest",
      displayName: "Bob",
    });
    expect(renamed.displayName).toBe("Bob");
  });

  describe("one that can be exempted", () => {
    const exemptibleMandate = (overrides: Partial<MandateInput> = {}) =>
      mandate({ exemptible: true, ...overrides });
    const move = (population: Population, caller: Caller = tenantAdmin) =>
      h.app.principals.upsert(caller, "acme", "alice", { population });

    it("refuses the tenant administrator a move to guest, and the mandate still binds the person a year on", async () => {
      await exemptibleMandate();
      await expect(move("guest")).rejects.toMatchObject({
        code: "principal.population_locked",
        message: expect.stringContaining("uplift"),
      });
      h.clock.advance(365 * 86_400);
      expect((await h.app.principals.get(tenantAdmin, "acme", "alice")).population).toBe("direct");
      expect((await passwordOnly()).outcome).toBe("challenge");
    });

    it("refuses a move to integration, or to a population its scope leaves out, allows one it covers", async () => {
      await exemptibleMandate({ scope: { tenants: "all", populations: ["direct", "api_human"] } });
      for (const population of ["integration", "sso"] as const) {
        await expect(move(population)).rejects.toMatchObject({
          code: "principal.population_locked",
          message: expect.stringContaining(`as ${population}`),
        });
      }
      expect((await move("api_human")).population).toBe("api_human");
    });

    it("refuses it for a mandate whose window has not opened yet, allows it once it has closed", async () => {
      await exemptibleMandate({
        activeFrom: "2026-12-01T00:00:00Z",
        activeUntil: "2026-12-02T00:00:00Z",
      });
      await expect(move("guest")).rejects.toMatchObject({ code: "principal.population_locked" });
      h.clock.advance(10 * 86_400);
      expect((await move("guest")).population).toBe("guest");
    });

    it("lets a platform administrator do it", async () => {
      await exemptibleMandate();
      expect((await move("guest", h.admin)).population).toBe("guest");
      expect((await passwordOnly()).outcome).toBe("not_applicable");
    });

    it("leaves registering new guests and integrations to the tenant administrator", async () => {
      await exemptibleMandate();
      for (const [id, population] of [
        ["bob", "guest"],
        ["ci-bot", "integration"],
      ] as const) {
        const created = await h.app.principals.upsert(tenantAdmin, "acme", id, { population });
        expect(created.population).toBe(population);
      }
    });
  });

  // Seed 000: an integration signing in with a password is held to MFA as a person, so a
  // mandate scoped to `direct` binds it; moved to `sso`, it would be out of that mandate's reach.
  it("refuses moving an integration that a mandate for direct logins binds to sso", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "alice", { population: "integration" });
    await mandate({ scope: { tenants: "all", populations: ["direct"] } });
    expect((await passwordOnly()).outcome).toBe("challenge");
    await expect(
      h.app.principals.upsert(tenantAdmin, "acme", "alice", { population: "sso" }),
    ).rejects.toMatchObject({ code: "principal.population_locked" });
    expect((await passwordOnly()).outcome).toBe("challenge");
  });
});
