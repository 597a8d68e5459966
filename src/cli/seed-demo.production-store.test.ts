/**
 * Threat: `serve --demo` (and so `npm start`) seeds whatever store the configuration names
 * (`TENANT_MFA_DB`, `--db`, `--config`). On a store an operator already runs (a platform
 * administrator bootstrapped, a real tenant `acme`), seeding would add a `breakglass` principal to
 * that real tenant with an APPROVED break-glass exemption (password alone is then `allow`), mint
 * tenant_admin, exemption_approver and auditor keys for it and print their secrets. The demo seeds
 * only an empty store or one it made (its mark: the store's first API key is the platform
 * administrator key the demo bootstrapped); any other is refused before anything is seeded.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../app/application.js";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication, type OpenedApplication, type RunningServer } from "../main.js";
import { freePort, serveDemo } from "../demo/test-support/serve-demo.js";
import { DemoStoreRefused, prepareDemo } from "./seed-demo.js";

const settings = { exemptions: DEFAULT_SETTINGS.exemptions };

let opened: OpenedApplication | undefined;
let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  await opened?.close();
  opened = undefined;
});

/** The operator's own deployment: a bootstrap key, a real tenant named acme, one person. */
async function operatorStore(store: OpenedApplication): Promise<Caller> {
  const { secret } = await store.bootstrap({ name: "ops" });
  const operator = await store.app.authenticate(secret);
  await store.app.tenants.create(operator, { id: "acme", name: "ACME Real Customer Ltd" });
  await store.app.principals.upsert(operator, "acme", "jdoe", { population: "direct" });
  return operator;
}

/** What the demo would change: tenants, acme's principals and exemptions, every API key. */
async function snapshot(store: OpenedApplication, operator: Caller) {
  const tenants = await store.app.tenants.list(operator, {});
  const principals = await store.app.principals.list(operator, "acme", {});
  const exemptions = await store.app.exemptions.list(operator, "acme", {}, {});
  const keys = await store.app.apiKeys.list(operator);
  return {
    tenants: tenants.items.map((t) => t.id),
    principals: principals.items.map((p) => p.id),
    exemptions: exemptions.items.map((e) => `${e.principal}:${e.category}:${e.status}`),
    keys: keys.map((k) => `${k.id}:${k.name}:${k.revokedAt ?? "active"}`),
  };
}

describe("demo seeding on a store the demo did not make", () => {
  it("is refused before anything is seeded or printed, on an operator's store", async () => {
    opened = await openApplication({ ...settings, db: "sqlite::memory:" });
    const operator = await operatorStore(opened);
    const before = await snapshot(opened, operator);

    const printed: string[] = [];
    await expect(prepareDemo(opened, (line) => printed.push(line))).rejects.toBeInstanceOf(
      DemoStoreRefused,
    );
    expect(printed).toEqual([]);
    expect(await snapshot(opened, operator)).toEqual(before);
    expect(before).toMatchObject({ tenants: ["acme"], principals: ["jdoe"], exemptions: [] });
  });

  it("is refused on a store with tenants but no API key", async () => {
    opened = await openApplication({ ...settings, db: "sqlite::memory:" });
    const cli: Caller = { id: "cli", name: "operator", roles: ["platform_admin"], tenants: "all" };
    await opened.app.tenants.create(cli, { id: "acme", name: "ACME Real Customer Ltd" });
    await expect(prepareDemo(opened, () => undefined)).rejects.toBeInstanceOf(DemoStoreRefused);
    expect((await opened.app.apiKeys.list(cli)).map((k) => k.name)).toEqual([]);
  });

  it("is refused when a key named like the demo's is not the store's first", async () => {
    opened = await openApplication({ ...settings, db: "sqlite::memory:" });
    const operator = await operatorStore(opened);
    await opened.bootstrap({ name: "demo platform admin", force: true });
    const before = await snapshot(opened, operator);
    await expect(prepareDemo(opened, () => undefined)).rejects.toBeInstanceOf(DemoStoreRefused);
    expect(await snapshot(opened, operator)).toEqual(before);
  });

  it("still seeds an empty store, and again the store it made", async () => {
    opened = await openApplication({ ...settings, db: "sqlite::memory:" });
    const first = await prepareDemo(opened, () => undefined);
    expect(first.created).toContain("tenant acme");
    const second = await prepareDemo(opened, () => undefined);
    expect(second).toEqual({ keys: [], created: [] });
  });

  it("makes `serve --demo` exit non-zero, naming the store, before seeding or listening", async () => {
    const db = `sqlite:${join(mkdtempSync(join(tmpdir(), "tenant-mfa-operator-")), "prod.db")}`;
    opened = await openApplication({ ...settings, db });
    const operator = await operatorStore(opened);
    const before = await snapshot(opened, operator);
    await opened.close();
    opened = undefined;

    const port = async () => String(await freePort());
    const args = ["--db", db, "--port", await port()];
    args.push("--demo-platform-port", await port(), "--demo-idp-port", await port());
    const result = await serveDemo(args, (server) => {
      running = server;
    });
    expect(result.exitCode).toBe(1);
    expect(result.running).toBeUndefined();
    expect(result.stderr).toContain(`serve --demo refuses the store ${db}:`);
    expect(result.stderr).toContain("the demo did not create");
    expect(result.stdout).not.toMatch(/tmfa_/);

    opened = await openApplication({ ...settings, db });
    expect(await snapshot(opened, operator)).toEqual(before);
  });
});
