import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
let acmeAdmin: string;
beforeAll(async () => {
  t = await openTestServer();
  for (const id of ["acme", "globex"])
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id, name: id.toUpperCase() } });
  acmeAdmin = await t.key(["tenant_admin"], ["acme"]);
});
afterAll(() => t.close());

const uplift = {
  title: "Emergency uplift",
  scope: { tenants: "all" },
  require: { minAal: 2, phishingResistant: true },
  activeFrom: "2026-11-01T00:00:00Z",
  exemptible: false,
};

describe("platform mandates", () => {
  it("creates, reads, lists, updates and retires a mandate", async () => {
    const created = await t.call("POST", "/v1/platform/mandates", {
      key: t.adminKey,
      body: { id: "uplift", mandate: uplift, rationale: "Phishing campaign" },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe("/v1/platform/mandates/uplift");
    expect(created.json()).toMatchObject({
      id: "uplift",
      version: 1,
      status: "active",
      rationale: "Phishing campaign",
      mandate: { id: "uplift", version: 1, exemptible: false, require: { minAal: 2 } },
    });

    expect(created.headers.etag).toBe('"1"');
    const read = await t.call("GET", "/v1/platform/mandates/uplift", { key: t.adminKey });
    expect(read.json()).toEqual(created.json());
    expect(read.headers.etag).toBe('"1"');

    const updated = await t.call("PUT", "/v1/platform/mandates/uplift", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: { mandate: { ...uplift, require: { minAal: 3 } }, rationale: "Stricter" },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.headers.etag).toBe('"2"');
    expect(updated.json()).toMatchObject({ version: 2, mandate: { require: { minAal: 3 } } });

    const list = await t.call("GET", "/v1/platform/mandates", { key: t.adminKey });
    expect(list.json()).toMatchObject({ items: [{ id: "uplift", version: 2 }], next: null });

    const retired = await t.call("POST", "/v1/platform/mandates/uplift/retire", {
      key: t.adminKey,
      headers: { "if-match": '"2"' },
      body: { rationale: "Campaign over" },
    });
    expect(retired.statusCode).toBe(200);
    expect(retired.json()).toMatchObject({ version: 3, status: "retired" });

    const again = await t.call("POST", "/v1/platform/mandates/uplift/retire", {
      key: t.adminKey,
      headers: { "if-match": '"3"' },
      body: { rationale: "Twice" },
    });
    expect([again.statusCode, again.json<{ code: string }>().code]).toEqual([
      409,
      "mandate.retired",
    ]);
  });

  // Two platform administrators on one mandate: an edit of the version before an emergency
  // uplift must not silently undo the uplift.
  it("changes a mandate only at the version its If-Match names: 428 without one, 412 when stale", async () => {
    const created = await t.call("POST", "/v1/platform/mandates", {
      key: t.adminKey,
      body: { id: "guarded", mandate: uplift, rationale: "Baseline" },
    });
    expect(created.statusCode).toBe(201);
    const raised = await t.call("PUT", "/v1/platform/mandates/guarded", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: { mandate: { ...uplift, require: { minAal: 3 } }, rationale: "Emergency uplift" },
    });
    expect(raised.statusCode).toBe(200);

    const codeOf = (r: Awaited<ReturnType<typeof t.call>>) => [
      r.statusCode,
      r.json<{ code: string }>().code,
    ];
    const weaker = { mandate: { ...uplift, exemptible: true }, rationale: "Relax" };
    const stale = await t.call("PUT", "/v1/platform/mandates/guarded", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: weaker,
    });
    expect(codeOf(stale)).toEqual([412, "mandate.version_conflict"]);
    const unguarded = await t.call("PUT", "/v1/platform/mandates/guarded", {
      key: t.adminKey,
      body: weaker,
    });
    expect(codeOf(unguarded)).toEqual([428, "mandate.precondition_required"]);
    const staleRetire = await t.call("POST", "/v1/platform/mandates/guarded/retire", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: { rationale: "Done" },
    });
    expect(codeOf(staleRetire)).toEqual([412, "mandate.version_conflict"]);
    const unguardedRetire = await t.call("POST", "/v1/platform/mandates/guarded/retire", {
      key: t.adminKey,
      body: { rationale: "Done" },
    });
    expect(codeOf(unguardedRetire)).toEqual([428, "mandate.precondition_required"]);

    const current = await t.call("GET", "/v1/platform/mandates/guarded", { key: t.adminKey });
    expect(current.json()).toMatchObject({
      version: 2,
      status: "active",
      mandate: { exemptible: false, require: { minAal: 3 } },
    });
  });

  it("refuses a duplicate id with 409 mandate.exists and an unknown id with 404", async () => {
    const body = { id: "dup", mandate: uplift, rationale: "r" };
    expect(
      (await t.call("POST", "/v1/platform/mandates", { key: t.adminKey, body })).statusCode,
    ).toBe(201);
    const duplicate = await t.call("POST", "/v1/platform/mandates", { key: t.adminKey, body });
    expect([duplicate.statusCode, duplicate.json<{ code: string }>().code]).toEqual([
      409,
      "mandate.exists",
    ]);
    const missing = await t.call("GET", "/v1/platform/mandates/none", { key: t.adminKey });
    expect([missing.statusCode, missing.json<{ code: string }>().code]).toEqual([404, "not_found"]);
  });

  it("is for platform administrators only", async () => {
    const response = await t.call("GET", "/v1/platform/mandates", { key: acmeAdmin });
    expect([response.statusCode, response.json<{ code: string }>().code]).toEqual([
      403,
      "auth.forbidden",
    ]);
  });
});

describe("API keys", () => {
  it("shows a new key's secret once and its hash never", async () => {
    const created = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: {
        name: "ci",
        roles: ["tenant_auditor"],
        tenants: ["acme"],
        expiresAt: "2027-01-01T00:00:00Z",
      },
    });
    expect(created.statusCode).toBe(201);
    const { key, secret } = created.json<{ key: Record<string, unknown>; secret: string }>();
    expect(secret).toMatch(/^tmfa_/);
    expect(key).toMatchObject({ name: "ci", roles: ["tenant_auditor"], tenants: ["acme"] });
    expect(key).not.toHaveProperty("secretHash");
    expect(created.headers.location).toBe(`/v1/api-keys/${String(key.id)}`);

    const list = await t.call("GET", "/v1/api-keys", { key: t.adminKey });
    expect(list.body).not.toContain(secret);
    expect(list.body).not.toContain("secretHash");
    expect(list.json<{ items: { id: string }[] }>().items.map((k) => k.id)).toContain(key.id);
  });

  it("revokes a key with 204, after which it no longer authenticates", async () => {
    const created = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: { name: "temp", roles: ["tenant_admin"], tenants: ["acme"] },
    });
    const { key, secret } = created.json<{ key: { id: string }; secret: string }>();
    const revoked = await t.call("DELETE", `/v1/api-keys/${key.id}`, { key: t.adminKey });
    expect([revoked.statusCode, revoked.body]).toEqual([204, ""]);
    expect((await t.call("GET", "/v1/tenants/acme", { key: secret })).statusCode).toBe(401);
    const unknown = await t.call("DELETE", "/v1/api-keys/key_nope", { key: t.adminKey });
    expect(unknown.statusCode).toBe(404);
  });

  it("refuses a platform_admin key scoped to tenants with 400", async () => {
    const response = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: { name: "x", roles: ["platform_admin"], tenants: ["acme"] },
    });
    expect([response.statusCode, response.json<{ code: string }>().code]).toEqual([
      400,
      "request.invalid",
    ]);
  });

  it("cannot be managed by a tenant administrator", async () => {
    const response = await t.call("POST", "/v1/api-keys", {
      key: acmeAdmin,
      body: { name: "escalate", roles: ["platform_admin"], tenants: "all" },
    });
    expect(response.statusCode).toBe(403);
  });
});

describe("tenants", () => {
  it("creates a tenant with 201 and Location, and refuses a duplicate with 409", async () => {
    const created = await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: "initech", name: "Initech" },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe("/v1/tenants/initech");
    expect(created.json()).toEqual({
      id: "initech",
      name: "Initech",
      createdAt: "2026-11-23T12:00:00.000Z",
      returnUrls: [],
    });
    const duplicate = await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: "initech", name: "Again" },
    });
    expect([duplicate.statusCode, duplicate.json<{ code: string }>().code]).toEqual([
      409,
      "tenant.exists",
    ]);
  });

  it("pages through tenants with a cursor", async () => {
    const first = await t.call("GET", "/v1/tenants?limit=2", { key: t.adminKey });
    const page = first.json<{ items: { id: string }[]; next: string | null }>();
    expect(page.items).toHaveLength(2);
    expect(page.next).not.toBeNull();
    const second = await t.call("GET", `/v1/tenants?limit=2&after=${page.next}`, {
      key: t.adminKey,
    });
    const rest = second.json<{ items: { id: string }[]; next: string | null }>();
    expect([...page.items, ...rest.items].map((x) => x.id).sort()).toEqual([
      "acme",
      "globex",
      "initech",
    ]);
  });

  it("lets a tenant administrator read its own tenant and not another (404)", async () => {
    expect((await t.call("GET", "/v1/tenants/acme", { key: acmeAdmin })).statusCode).toBe(200);
    const foreign = await t.call("GET", "/v1/tenants/globex", { key: acmeAdmin });
    expect([foreign.statusCode, foreign.json<{ code: string }>().code]).toEqual([404, "not_found"]);
    const list = await t.call("GET", "/v1/tenants", { key: acmeAdmin });
    expect(list.json<{ items: { id: string }[] }>().items.map((x) => x.id)).toEqual(["acme"]);
  });
});

describe("the platform chain", () => {
  type Event = { seq: number; chain: string; tenant: string | null; type: string; at: string };
  const platformAudit = (query: string, key = t.adminKey, headers: Record<string, string> = {}) =>
    t.call("GET", `/v1/platform/audit${query}`, { key, headers });

  it("pages through the platform chain with cursor and type filters, as the tenant route does", async () => {
    const all = (await platformAudit("?limit=500")).json<{ items: Event[]; next: null }>();
    expect(all.next).toBeNull();
    expect(all.items.map((e) => e.seq)).toEqual(all.items.map((_, i) => i + 1));
    expect(all.items.every((e) => e.chain === "platform" && e.tenant === null)).toBe(true);
    // Bootstrap's key, then the tenants created above, then the mandates and keys of the tests.
    expect(all.items[0]?.type).toBe("api_key.created");
    expect(all.items.filter((e) => e.type === "tenant.created")).not.toHaveLength(0);

    const first = (await platformAudit("?limit=2")).json<{ items: Event[]; next: string }>();
    expect(first.items.map((e) => e.seq)).toEqual([1, 2]);
    const second = (await platformAudit(`?limit=2&after=${first.next}`)).json<{ items: Event[] }>();
    expect(second.items.map((e) => e.seq)).toEqual([3, 4]);

    const mandates = (await platformAudit("?type=mandate.created")).json<{ items: Event[] }>();
    expect(mandates.items.map((e) => e.type)).toEqual(
      all.items.filter((e) => e.type === "mandate.created").map((e) => e.type),
    );
    expect(mandates.items).not.toHaveLength(0);

    // A key made a minute later, found by a window given with an offset, and only it.
    t.clock.advance(60);
    await t.key(["tenant_auditor"], ["acme"]);
    const since = new Date(t.clock.now().getTime() + 3600_000).toISOString().replace("Z", "+01:00");
    const window = await platformAudit(`?from=${encodeURIComponent(since)}`);
    expect(window.json<{ items: Event[] }>().items.map((e) => [e.seq, e.type])).toEqual([
      [all.items.length + 1, "api_key.created"],
    ]);
    const before = await platformAudit(`?limit=500&to=${encodeURIComponent(since)}`);
    expect(before.json<{ items: Event[] }>().items).toEqual(all.items);
    const late = encodeURIComponent("9999-12-31T23:59:59-23:59");
    const refused = await platformAudit(`?to=${late}`);
    expect([refused.statusCode, refused.json<{ code: string }>().code]).toEqual([
      400,
      "request.invalid",
    ]);
  });

  it("exports the whole platform chain as JSON Lines, by query or by Accept", async () => {
    const count = (await platformAudit("?limit=500")).json<{ items: unknown[] }>().items.length;
    for (const [query, headers] of [
      ["?format=jsonl&limit=2", {}],
      ["?limit=2", { accept: "application/x-ndjson" }],
    ] as const) {
      const response = await platformAudit(query, t.adminKey, headers);
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toMatch(/^application\/x-ndjson/);
      const events = response.body
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as Event);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(events.every((e) => e.chain === "platform")).toBe(true);
    }
  });

  it("is for platform administrators only: it names every tenant and every key", async () => {
    for (const key of [acmeAdmin, await t.key(["tenant_auditor"], ["acme"])]) {
      for (const query of ["", "?format=jsonl"]) {
        const refused = await platformAudit(query, key);
        expect([refused.statusCode, refused.json<{ code: string }>().code]).toEqual([
          403,
          "auth.forbidden",
        ]);
      }
    }
  });
});
