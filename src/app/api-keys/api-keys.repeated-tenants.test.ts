// Contract: a key's tenants are a set, as its roles and audiences are. A tenant named twice in a
// key's request is stored, answered and audited once, and a tenant-scoped caller lists each
// tenant it reaches once, whatever its key holds (keys made before this rule kept repeats).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chainOf } from "../audit/audit-chain.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("a tenant named twice in an API key", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
  });
  afterEach(() => h.close());

  it("is stored, answered and audited once", async () => {
    const { key } = await h.app.apiKeys.create(h.admin, {
      name: "auditor",
      roles: ["tenant_auditor"],
      tenants: ["acme", "globex", "acme"],
    });
    expect(key.tenants).toEqual(["acme", "globex"]);
    const stored = (await h.app.apiKeys.list(h.admin)).find((k) => k.id === key.id);
    expect(stored?.tenants).toEqual(["acme", "globex"]);
    const events = await h.store.read(({ audit }) =>
      audit.read(chainOf(null), { afterSeq: 0, limit: 100 }),
    );
    const created = events.find((e) => e.type === "api_key.created" && e.payload["id"] === key.id);
    expect(created?.payload["tenants"]).toEqual(["acme", "globex"]);
  });

  it("lists each tenant the caller reaches once, even for a key stored with repeats", async () => {
    const { key, secret } = await h.app.apiKeys.create(h.admin, {
      name: "auditor",
      roles: ["tenant_auditor"],
      tenants: ["acme"],
    });
    const caller = { ...(await h.app.authenticate(secret)), tenants: ["acme", "acme"] };
    expect(caller.id).toBe(key.id);
    const listed = await h.app.tenants.list(caller, {});
    expect(listed.items.map((t) => t.id)).toEqual(["acme"]);
  });
});
