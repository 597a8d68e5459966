import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("tenant policy administration", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
  });
  afterEach(() => h.close());

  it("starts a new tenant at version 1 with platform_mfa", async () => {
    const { record } = await h.app.policies.current(h.admin, "acme");
    expect(record).toMatchObject({
      version: 1,
      policy: { tenant: "acme", version: 1, posture: "platform_mfa" },
    });
  });

  it("replaces the policy when If-Match names the current version, and records who, when and why", async () => {
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    const { record } = await h.app.policies.replace(admin, "acme", {
      policy: { posture: "phishing_resistant" },
      rationale: "Board decision after phishing incident",
      ifMatch: 1,
    });
    expect(record).toMatchObject({
      version: 2,
      actor: admin.id,
      rationale: "Board decision after phishing incident",
      createdAt: "2026-11-23T12:00:00.000Z",
      policy: { tenant: "acme", version: 2, posture: "phishing_resistant" },
    });
  });

  it("refuses a write without If-Match", async () => {
    await expect(
      h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "idp_mfa" },
        rationale: "x",
        ifMatch: undefined,
      }),
    ).rejects.toMatchObject({ code: "policy.precondition_required" });
  });

  it("refuses a write based on a stale version", async () => {
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "idp_mfa" },
      rationale: "a",
      ifMatch: 1,
    });
    await expect(
      h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "mfa_optional" },
        rationale: "b",
        ifMatch: 1,
      }),
    ).rejects.toMatchObject({ code: "policy.version_conflict" });
  });

  it("lets exactly one of two concurrent writers of the same version win", async () => {
    const results = await Promise.allSettled([
      h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "idp_mfa" },
        rationale: "a",
        ifMatch: 1,
      }),
      h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "mfa_optional" },
        rationale: "b",
        ifMatch: 1,
      }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({
      reason: { code: "policy.version_conflict" },
    });
  });

  it("requires a rationale", async () => {
    await expect(
      h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "idp_mfa" },
        rationale: "  ",
        ifMatch: 1,
      }),
    ).rejects.toMatchObject({ code: "request.invalid" });
  });

  it("refuses an invalid policy with the field named", async () => {
    await expect(
      h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "platform_mfa", require: { minAal: 7 as never } },
        rationale: "x",
        ifMatch: 1,
      }),
    ).rejects.toMatchObject({ code: "policy.invalid", message: expect.stringContaining("minAal") });
  });

  it("accepts a policy weaker than a mandate and warns which parts are overridden", async () => {
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: {
        scope: { tenants: "all" },
        require: { minAal: 2, phishingResistant: true },
        exemptible: false,
      },
      rationale: "threat report",
    });
    const { record, overrides } = await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "mfa_optional" },
      rationale: "pilot",
      ifMatch: 1,
    });
    expect(record.version).toBe(2);
    expect(overrides.map((o) => [o.part, o.mandate])).toEqual([
      ["minAal", "uplift"],
      ["phishingResistant", "uplift"],
      ["reauthIntervalSeconds", "uplift"],
      ["idleTimeoutSeconds", "uplift"],
    ]);
  });

  it("keeps the full history, newest first, each with its diff", async () => {
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "idp_mfa" },
      rationale: "a",
      ifMatch: 1,
    });
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "idp_mfa", require: { maxAgeSeconds: 600 } },
      rationale: "b",
      ifMatch: 2,
    });
    const history = await h.app.policies.history(h.admin, "acme", {});
    expect(history.items.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(history.items[0]?.diff).toEqual([
      { path: "/require", after: { maxAgeSeconds: 600 } },
      { path: "/version", before: 2, after: 3 },
    ]);
  });

  it("pages the history", async () => {
    for (let v = 1; v <= 4; v++) {
      await h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "idp_mfa" },
        rationale: `r${v}`,
        ifMatch: v,
      });
    }
    const first = await h.app.policies.history(h.admin, "acme", { limit: 2 });
    expect(first.items.map((v) => v.version)).toEqual([5, 4]);
    const second = await h.app.policies.history(h.admin, "acme", {
      limit: 2,
      ...(first.next === undefined ? {} : { after: first.next }),
    });
    expect(second.items.map((v) => v.version)).toEqual([3, 2]);
  });

  it("rolls back by writing the earlier version again as a new version", async () => {
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "idp_mfa" },
      rationale: "a",
      ifMatch: 1,
    });
    const { record } = await h.app.policies.rollback(h.admin, "acme", {
      toVersion: 1,
      rationale: "undo",
      ifMatch: 2,
    });
    expect(record).toMatchObject({
      version: 3,
      rollbackOf: 1,
      policy: { posture: "platform_mfa", version: 3 },
    });
  });

  it("writes an audit event with the diff in the same transaction as each change", async () => {
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "idp_mfa" },
      rationale: "why",
      ifMatch: 1,
    });
    const audit = await h.app.audit.list(h.admin, "acme", { type: "policy.replaced" }, {});
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({
      tenant: "acme",
      actor: h.admin.id,
      payload: {
        version: 2,
        previousVersion: 1,
        rationale: "why",
        diff: expect.arrayContaining([
          { path: "/posture", before: "platform_mfa", after: "idp_mfa" },
        ]),
      },
    });
  });

  it("answers, stores and audits an offset enforcementStartsAt as the UTC instant", async () => {
    const { record } = await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "phishing_resistant", enforcementStartsAt: "2026-12-06T10:00:00+02:00" },
      rationale: "announce, then enforce",
      ifMatch: 1,
    });
    const utc = "2026-12-06T08:00:00.000Z";
    expect(record.policy.enforcementStartsAt).toBe(utc);
    const current = await h.app.policies.current(h.admin, "acme");
    expect(current.record.policy.enforcementStartsAt).toBe(utc);
    const history = await h.app.policies.history(h.admin, "acme", { limit: 1 });
    expect(history.items[0]?.policy.enforcementStartsAt).toBe(utc);
    expect(history.items[0]?.diff).toContainEqual({
      path: "/enforcementStartsAt",
      after: utc,
    });
    const audit = await h.app.audit.list(h.admin, "acme", { type: "policy.replaced" }, {});
    expect(audit.items[0]?.payload).toMatchObject({
      diff: expect.arrayContaining([{ path: "/enforcementStartsAt", after: utc }]),
    });
  });

  it("refuses an enforcementStartsAt whose UTC instant has no 4-digit year", async () => {
    await expect(
      h.app.policies.replace(h.admin, "acme", {
        policy: { posture: "idp_mfa", enforcementStartsAt: "9999-12-31T23:30:00-01:00" },
        rationale: "x",
        ifMatch: 1,
      }),
    ).rejects.toMatchObject({
      code: "policy.invalid",
      message: expect.stringContaining("enforcementStartsAt"),
    });
  });

  it("rolls back to a version stored with an offset time by writing it again in UTC", async () => {
    // Written straight to the store, as versions were before times were brought to UTC.
    await h.store.transaction(({ policies }) =>
      policies.insert({
        tenant: "acme",
        version: 2,
        policy: {
          tenant: "acme",
          version: 2,
          posture: "idp_mfa",
          enforcementStartsAt: "2026-12-06T10:00:00+02:00",
        },
        rationale: "legacy",
        actor: h.admin.id,
        createdAt: h.clock.now().toISOString(),
      }),
    );
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "platform_mfa" },
      rationale: "b",
      ifMatch: 2,
    });
    const { record } = await h.app.policies.rollback(h.admin, "acme", {
      toVersion: 2,
      rationale: "undo",
      ifMatch: 3,
    });
    expect(record.policy.enforcementStartsAt).toBe("2026-12-06T08:00:00.000Z");
    const audit = await h.app.audit.list(h.admin, "acme", { type: "policy.rolled_back" }, {});
    expect(audit.items[0]?.payload).toMatchObject({
      diff: expect.arrayContaining([
        { path: "/enforcementStartsAt", after: "2026-12-06T08:00:00.000Z" },
      ]),
    });
  });
});
