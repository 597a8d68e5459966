import { afterEach, describe, expect, it } from "vitest";
import { openApplication, type OpenedApplication } from "../main.js";
import { prepareDemo, seedDemoData } from "./seed-demo.js";

const settings = {
  db: "sqlite::memory:",
  exemptions: { maxDays: 90, breakGlassMaxDays: 7, maxRenewals: 2, maxActivePerTenant: 100 },
};

let opened: OpenedApplication | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

describe("demo data", () => {
  it("creates tenants with their postures, principals, role keys and a break-glass exemption", async () => {
    opened = await openApplication(settings);
    const lines: string[] = [];
    const seed = await prepareDemo(opened, (line) => lines.push(line));
    expect(seed.keys.map((k) => k.name)).toEqual([
      "demo platform admin",
      "demo platform service",
      "demo acme admin",
      "demo acme approver",
      "demo acme auditor",
    ]);
    for (const key of seed.keys) expect(lines.join("\n")).toContain(key.secret);

    const admin = await opened.app.authenticate(seed.keys[0]?.secret ?? "");
    const postures = await Promise.all(
      ["acme", "globex", "initech"].map(
        async (t) => (await opened!.app.policies.current(admin, t)).record.policy.posture,
      ),
    );
    expect(postures).toEqual(["platform_mfa", "phishing_resistant", "idp_mfa"]);
    const exemptions = await opened.app.exemptions.list(
      admin,
      "acme",
      { principal: "breakglass", activeAt: new Date().toISOString() },
      {},
    );
    expect(exemptions.items).toMatchObject([{ category: "break_glass", status: "approved" }]);
  });

  it("is idempotent: a second run creates nothing and prints no secret", async () => {
    opened = await openApplication(settings);
    const first = await prepareDemo(opened, () => undefined);
    const lines: string[] = [];
    const second = await prepareDemo(opened, (line) => lines.push(line));
    expect(second).toEqual({ keys: [], created: [] });
    expect(lines).toEqual(["Demo data present; its API keys were printed when they were created."]);

    // The second run acted through a temporary administrator key, revoked afterwards.
    const admin = await opened.app.authenticate(first.keys[0]?.secret ?? "");
    const keys = await opened.app.apiKeys.list(admin);
    const temporary = keys.filter((k) => k.name === "demo seeding (temporary)");
    expect(temporary).toHaveLength(1);
    expect(temporary[0]?.revokedAt).toBeDefined();
    expect(await seedDemoData(opened.app, admin)).toEqual({ keys: [], created: [] });
  });

  it("leaves a tenant's later policy choice alone", async () => {
    opened = await openApplication(settings);
    const first = await prepareDemo(opened, () => undefined);
    const admin = await opened.app.authenticate(first.keys[0]?.secret ?? "");
    await opened.app.policies.replace(admin, "globex", {
      policy: { posture: "platform_mfa" },
      rationale: "Changed after the demo",
      ifMatch: 2,
    });
    expect((await seedDemoData(opened.app, admin)).created).toEqual([]);
    const current = await opened.app.policies.current(admin, "globex");
    expect(current.record.policy.posture).toBe("platform_mfa");
  });
});
