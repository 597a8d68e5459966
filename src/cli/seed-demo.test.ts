import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication, type OpenedApplication } from "../main.js";
import { DEMO_IDP, prepareDemo, seedDemoData, type DemoApps } from "./seed-demo.js";

const settings = {
  db: "sqlite::memory:",
  exemptions: DEFAULT_SETTINGS.exemptions,
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

  it("starts without a break-glass exemption once the restarts' exemptions reach the renewal cap", async () => {
    opened = await openApplication(settings);
    const first = await prepareDemo(opened, () => undefined);
    const admin = await opened.app.authenticate(first.keys[0]?.secret ?? "");
    const days = (n: number) => new Date(Date.now() + n * 24 * 3600 * 1000);
    // Each start finds the previous exemption just ended: back to back, one run.
    for (const start of [6, 12]) {
      expect((await seedDemoData(opened.app, admin, { now: days(start) })).created).toEqual([
        expect.stringContaining("approved break-glass exemption"),
      ]);
    }
    expect(await seedDemoData(opened.app, admin, { now: days(18) })).toEqual({
      keys: [],
      created: [],
    });
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

  it("registers the demo apps: return URLs, Initech's IdP at the development IdP, a platform key never printed", async () => {
    opened = await openApplication(settings);
    const lines: string[] = [];
    const seed = await prepareDemo(opened, (line) => lines.push(line), new Date(), apps("first"));
    const admin = await opened.app.authenticate(seed.keys[0]?.secret ?? "");
    for (const tenant of ["acme", "globex", "initech"]) {
      expect((await opened.app.tenants.get(admin, tenant)).returnUrls).toEqual([RETURN_URL]);
    }
    const idp = await opened.app.idps.get(admin, DEMO_IDP.tenant, DEMO_IDP.id);
    expect(idp).toMatchObject({
      protocol: "oidc",
      version: 1,
      oidc: {
        issuer: "http://localhost:8082",
        clientId: "tenant-mfa-initech",
        idTokenAlgorithms: ["ES256"],
        clientSecretSet: true,
      },
      endpoints: {
        oidcRedirectUri: expect.stringMatching(/\/t\/initech\/idps\/corp-idp\/oidc\/callback$/),
      },
    });

    const platform = await opened.app.authenticate(seed.apps?.platformKey.secret ?? "");
    expect(platform).toMatchObject({ id: seed.apps?.platformKey.id, roles: ["platform_service"] });
    const printed = lines.join("\n");
    expect(printed).not.toContain(seed.apps?.platformKey.secret);
    expect(printed).not.toContain("client-secret-first");
    expect(printed).toContain(`demo apps: IdP initech/corp-idp registered: http://localhost:8082`);
  });

  it("on the next start: the IdP takes the new client secret, the platform key is replaced, return URLs stay single", async () => {
    opened = await openApplication(settings);
    const first = await prepareDemo(opened, () => undefined, new Date(), apps("first"));
    const admin = await opened.app.authenticate(first.keys[0]?.secret ?? "");
    await opened.app.tenants.setReturnUrls(admin, "acme", {
      returnUrls: [RETURN_URL, "https://app.acme.example/back"],
    });

    const second = await prepareDemo(opened, () => undefined, new Date(), apps("second"));
    expect(second.created).toEqual([]);
    expect(second.apps?.changed).toEqual([
      "IdP initech/corp-idp updated: http://localhost:8082, this run's client secret",
      `API key "demo platform app" ${second.apps?.platformKey.id ?? ""} for the demo platform (the earlier one revoked)`,
    ]);
    expect((await opened.app.tenants.get(admin, "acme")).returnUrls).toEqual([
      RETURN_URL,
      "https://app.acme.example/back",
    ]);
    expect((await opened.app.idps.get(admin, DEMO_IDP.tenant, DEMO_IDP.id)).version).toBe(2);

    await expect(
      opened.app.authenticate(first.apps?.platformKey.secret ?? ""),
    ).rejects.toMatchObject({ code: "auth.invalid_credentials" });
    const active = (await opened.app.apiKeys.list(admin)).filter(
      (key) => key.name === "demo platform app" && key.revokedAt === undefined,
    );
    expect(active.map((key) => key.id)).toEqual([second.apps?.platformKey.id]);
  });
});

const RETURN_URL = "http://localhost:8081/callback";

function apps(run: string): DemoApps {
  return {
    returnUrl: RETURN_URL,
    idp: {
      issuer: "http://localhost:8082",
      clientId: "tenant-mfa-initech",
      clientSecret: `client-secret-${run}`,
    },
  };
}
