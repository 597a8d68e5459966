import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
const keys: Record<
  "acmeAdmin" | "acmeApprover" | "acmeAuditor" | "globexAdmin" | "service",
  string
> = {
  acmeAdmin: "",
  acmeApprover: "",
  acmeAuditor: "",
  globexAdmin: "",
  service: "",
};

beforeAll(async () => {
  t = await openTestServer();
  for (const id of ["acme", "globex"])
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id, name: id } });
  keys.acmeAdmin = await t.key(["tenant_admin"], ["acme"]);
  keys.acmeApprover = await t.key(["exemption_approver"], ["acme"]);
  keys.acmeAuditor = await t.key(["tenant_auditor"], ["acme"]);
  keys.globexAdmin = await t.key(["tenant_admin"], ["globex"]);
  keys.service = await t.key(["platform_service"], "all");
  for (const [id, population] of [
    ["alice", "direct"],
    ["breakglass", "direct"],
    ["svc", "integration"],
  ])
    await t.call("PUT", `/v1/tenants/acme/principals/${id}`, {
      key: keys.acmeAdmin,
      body: { population, displayName: id },
    });
});
afterAll(() => t.close());

const codeOf = (response: LightMyRequestResponse) => [
  response.statusCode,
  response.json<{ code?: string }>().code,
];
const at = (offsetSeconds: number) =>
  new Date(Date.parse("2026-11-23T12:00:00.000Z") + offsetSeconds * 1000).toISOString();

describe("tenant policy", () => {
  it("reads the current policy with its version as ETag", async () => {
    const response = await t.call("GET", "/v1/tenants/acme/policy", { key: keys.acmeAuditor });
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toBe('"1"');
    expect(response.json()).toMatchObject({
      tenant: "acme",
      version: 1,
      policy: { posture: "platform_mfa" },
      warnings: [],
    });
  });

  it("requires If-Match (428) and refuses a stale one (412) naming the current version", async () => {
    const body = { policy: { posture: "phishing_resistant" }, rationale: "Uplift" };
    const missing = await t.call("PUT", "/v1/tenants/acme/policy", { key: keys.acmeAdmin, body });
    expect(codeOf(missing)).toEqual([428, "policy.precondition_required"]);
    const stale = await t.call("PUT", "/v1/tenants/acme/policy", {
      key: keys.acmeAdmin,
      body,
      headers: { "if-match": '"7"' },
    });
    expect(codeOf(stale)).toEqual([412, "policy.version_conflict"]);
    expect(stale.json()).toMatchObject({ details: { currentVersion: 1 } });
  });

  it("replaces the policy with a quoted or a bare If-Match and returns the new ETag", async () => {
    const quoted = await t.call("PUT", "/v1/tenants/acme/policy", {
      key: keys.acmeAdmin,
      headers: { "if-match": '"1"' },
      body: { policy: { posture: "phishing_resistant" }, rationale: "Phishing seen" },
    });
    expect(quoted.statusCode).toBe(200);
    expect(quoted.headers.etag).toBe('"2"');
    expect(quoted.json()).toMatchObject({ version: 2, rationale: "Phishing seen", warnings: [] });
    const bare = await t.call("PUT", "/v1/tenants/acme/policy", {
      key: keys.acmeAdmin,
      headers: { "if-match": "2" },
      body: {
        policy: { posture: "platform_mfa", require: { maxAgeSeconds: 3600 } },
        rationale: "Back",
      },
    });
    expect(bare.statusCode).toBe(200);
    expect(bare.headers.etag).toBe('"3"');
  });

  it("warns which parts a mandate overrides when the policy is weaker", async () => {
    await t.call("POST", "/v1/platform/mandates", {
      key: t.adminKey,
      body: {
        id: "globex-floor",
        mandate: { scope: { tenants: ["globex"] }, require: { minAal: 2 }, exemptible: true },
        rationale: "Floor",
      },
    });
    const response = await t.call("PUT", "/v1/tenants/globex/policy", {
      key: keys.globexAdmin,
      headers: { "if-match": '"1"' },
      body: { policy: { posture: "mfa_optional" }, rationale: "Try to weaken" },
    });
    expect(response.statusCode).toBe(200);
    const warnings = response.json<{ warnings: { mandate: string }[] }>().warnings;
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((w) => w.mandate === "globex-floor")).toBe(true);
  });

  it("lists the history newest first with diffs, and rolls back as a new version", async () => {
    const history = await t.call("GET", "/v1/tenants/acme/policy/history?limit=2", {
      key: keys.acmeAuditor,
    });
    const page = history.json<{
      items: { version: number; diff: unknown[] }[];
      next: string | null;
    }>();
    expect(page.items.map((v) => v.version)).toEqual([3, 2]);
    expect(page.items[0]?.diff.length).toBeGreaterThan(0);
    expect(page.next).not.toBeNull();

    const rollback = await t.call("POST", "/v1/tenants/acme/policy/rollback", {
      key: keys.acmeAdmin,
      headers: { "if-match": '"3"' },
      body: { toVersion: 2, rationale: "Undo" },
    });
    expect(rollback.statusCode).toBe(200);
    expect(rollback.headers.etag).toBe('"4"');
    expect(rollback.json()).toMatchObject({
      version: 4,
      rollbackOf: 2,
      policy: { posture: "phishing_resistant" },
    });
    const noIfMatch = await t.call("POST", "/v1/tenants/acme/policy/rollback", {
      key: keys.acmeAdmin,
      body: { toVersion: 1, rationale: "Undo" },
    });
    expect(codeOf(noIfMatch)).toEqual([428, "policy.precondition_required"]);
    // Leave acme on platform MFA for the decisions below.
    await t.call("POST", "/v1/tenants/acme/policy/rollback", {
      key: keys.acmeAdmin,
      headers: { "if-match": "4" },
      body: { toVersion: 1, rationale: "Back to platform MFA" },
    });
  });

  it("keeps each tenant administrator to its own tenant and auditors read-only", async () => {
    const foreign = await t.call("GET", "/v1/tenants/acme/policy", { key: keys.globexAdmin });
    expect(codeOf(foreign)).toEqual([404, "not_found"]);
    const write = await t.call("PUT", "/v1/tenants/acme/policy", {
      key: keys.acmeAuditor,
      headers: { "if-match": "5" },
      body: { policy: { posture: "mfa_optional" }, rationale: "no" },
    });
    expect(codeOf(write)).toEqual([403, "auth.forbidden"]);
  });
});

describe("principals", () => {
  it("registers, updates, reads and lists principals", async () => {
    const put = await t.call("PUT", "/v1/tenants/acme/principals/dave", {
      key: keys.acmeAdmin,
      body: { population: "sso", externalId: "00u123", displayName: "Dave" },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({
      tenant: "acme",
      id: "dave",
      population: "sso",
      externalId: "00u123",
    });
    await t.call("PUT", "/v1/tenants/acme/principals/dave", {
      key: keys.acmeAdmin,
      body: { population: "direct" },
    });
    const read = await t.call("GET", "/v1/tenants/acme/principals/dave", { key: keys.acmeAuditor });
    expect(read.json()).toMatchObject({ population: "direct" });
    const list = await t.call("GET", "/v1/tenants/acme/principals", { key: keys.acmeAuditor });
    expect(list.json<{ items: { id: string }[] }>().items.map((p) => p.id)).toEqual(
      expect.arrayContaining(["alice", "breakglass", "dave"]),
    );
    const missing = await t.call("GET", "/v1/tenants/acme/principals/nobody", {
      key: keys.acmeAdmin,
    });
    expect(codeOf(missing)).toEqual([404, "not_found"]);
  });
});

describe("exemptions", () => {
  const request = (body: Record<string, unknown>) =>
    t.call("POST", "/v1/tenants/acme/exemptions", {
      key: keys.acmeAdmin,
      body: {
        principal: "breakglass",
        category: "break_glass",
        justification: "IdP outage",
        owner: "secops",
        startsAt: at(0),
        expiresAt: at(3 * 86400),
        reviewAt: at(86400),
        ...body,
      },
    });

  it("refuses a shared login outright, explaining why (seed 001)", async () => {
    const response = await request({ category: "shared_login" });
    expect(codeOf(response)).toEqual([422, "exemption.shared_login_refused"]);
    expect(response.json<{ detail: string }>().detail).toMatch(/own account/);
  });

  it("refuses any exemption for a principal marked as a shared login, which only a platform administrator unmarks", async () => {
    const mark = (key: string, sharedLogin?: boolean) =>
      t.call("PUT", "/v1/tenants/acme/principals/partner", {
        key,
        body: { population: "direct", ...(sharedLogin === undefined ? {} : { sharedLogin }) },
      });
    const marked = await mark(keys.acmeAdmin, true);
    expect([marked.statusCode, marked.json<{ sharedLogin?: boolean }>().sharedLogin]).toEqual([
      200,
      true,
    ]);
    expect(codeOf(await request({ principal: "partner", category: "temporary_access" }))).toEqual([
      422,
      "exemption.shared_login_refused",
    ]);
    expect(codeOf(await mark(keys.acmeAdmin, false))).toEqual([
      409,
      "principal.shared_login_locked",
    ]);
    expect(codeOf(await mark(keys.acmeAdmin, "yes" as never))).toEqual([400, "request.invalid"]);
    const lifted = await mark(t.adminKey, false);
    expect([lifted.statusCode, "sharedLogin" in lifted.json<object>()]).toEqual([200, false]);
  });

  it("requires an expiry, capped for break-glass", async () => {
    const { expiresAt: _drop, ...noExpiry } = {
      principal: "breakglass",
      category: "break_glass",
      justification: "x",
      owner: "secops",
      reviewAt: at(60),
      expiresAt: undefined,
    };
    const missing = await t.call("POST", "/v1/tenants/acme/exemptions", {
      key: keys.acmeAdmin,
      body: noExpiry,
    });
    expect(codeOf(missing)).toEqual([422, "exemption.expiry_required"]);
    const tooLong = await request({ expiresAt: at(8 * 86400) });
    expect(codeOf(tooLong)).toEqual([422, "exemption.too_long"]);
    expect(tooLong.json()).toMatchObject({ details: { maxDays: 7 } });
  });

  it("refuses an exemption for an unregistered principal with 422 principal.unknown", async () => {
    expect(codeOf(await request({ principal: "ghost" }))).toEqual([422, "principal.unknown"]);
  });

  it("is approved once, by someone other than its requester, then listed as active", async () => {
    const created = await request({});
    expect(created.statusCode).toBe(201);
    const exemption = created.json<{ id: string; status: string }>();
    expect(exemption.status).toBe("requested");
    expect(created.headers.location).toBe(`/v1/tenants/acme/exemptions/${exemption.id}`);

    const self = await t.call("POST", `/v1/tenants/acme/exemptions/${exemption.id}/approve`, {
      key: t.adminKey,
    });
    expect(self.statusCode).toBe(200); // the platform admin did not request it
    const again = await t.call("POST", `/v1/tenants/acme/exemptions/${exemption.id}/approve`, {
      key: keys.acmeApprover,
    });
    expect(codeOf(again)).toEqual([409, "exemption.invalid_state"]);

    const active = await t.call(
      "GET",
      "/v1/tenants/acme/exemptions?active=true&principal=breakglass",
      {
        key: keys.acmeAuditor,
      },
    );
    expect(active.json<{ items: { id: string }[] }>().items.map((e) => e.id)).toEqual([
      exemption.id,
    ]);
    // The same instant written with an offset finds the same exemption.
    const withOffset = await t.call(
      "GET",
      `/v1/tenants/acme/exemptions?principal=breakglass&activeAt=${encodeURIComponent(
        new Date(Date.parse(at(60)) + 3 * 3600_000).toISOString().replace("Z", "+03:00"),
      )}`,
      { key: keys.acmeAuditor },
    );
    expect(withOffset.statusCode, withOffset.body).toBe(200);
    expect(withOffset.json<{ items: { id: string }[] }>().items.map((e) => e.id)).toEqual([
      exemption.id,
    ]);
    // Neither a filter it cannot apply nor an instant past year 9999 in UTC answers a list.
    for (const query of ["active=false", "activeAt=9999-12-31T23:59:59-14:00"]) {
      const refused = await t.call("GET", `/v1/tenants/acme/exemptions?${query}`, {
        key: keys.acmeAuditor,
      });
      expect(codeOf(refused), query).toEqual([400, "request.invalid"]);
    }
    const rejected = await t.call("GET", "/v1/tenants/acme/exemptions?status=rejected", {
      key: keys.acmeAuditor,
    });
    expect(rejected.json()).toEqual({ items: [], next: null });
    const read = await t.call("GET", `/v1/tenants/acme/exemptions/${exemption.id}`, {
      key: keys.acmeAuditor,
    });
    expect(read.json()).toMatchObject({ id: exemption.id, status: "approved" });
  });

  it("refuses self-approval with 403 and supports reject and revoke with a reason", async () => {
    const approverRequest = await t.call("POST", "/v1/tenants/acme/exemptions", {
      key: t.adminKey,
      body: {
        principal: "svc",
        category: "legacy_integration",
        justification: "Old client",
        owner: "it",
        expiresAt: at(30 * 86400),
        reviewAt: at(10 * 86400),
      },
    });
    const { id } = approverRequest.json<{ id: string; startsAt: string }>();
    expect(approverRequest.json<{ startsAt: string }>().startsAt).toBe(at(0));
    const self = await t.call("POST", `/v1/tenants/acme/exemptions/${id}/approve`, {
      key: t.adminKey,
    });
    expect(codeOf(self)).toEqual([403, "exemption.self_approval"]);
    const rejected = await t.call("POST", `/v1/tenants/acme/exemptions/${id}/reject`, {
      key: keys.acmeApprover,
      body: { reason: "Replace the client" },
    });
    expect(rejected.json()).toMatchObject({ status: "rejected" });

    const other = (await request({ principal: "alice", category: "temporary_access" })).json<{
      id: string;
    }>();
    await t.call("POST", `/v1/tenants/acme/exemptions/${other.id}/approve`, {
      key: keys.acmeApprover,
    });
    const revoked = await t.call("POST", `/v1/tenants/acme/exemptions/${other.id}/revoke`, {
      key: keys.acmeAdmin,
      body: { reason: "No longer needed" },
    });
    expect(revoked.json()).toMatchObject({ status: "revoked" });
  });

  it("refuses with 409 to approve a request whose requester's key was revoked", async () => {
    const issued = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: { name: "leaked", roles: ["tenant_admin"], tenants: ["acme"] },
    });
    const leaked = issued.json<{ key: { id: string }; secret: string }>();
    const filed = await t.call("POST", "/v1/tenants/acme/exemptions", {
      key: leaked.secret,
      body: {
        principal: "alice",
        category: "temporary_access",
        justification: "Phone lost",
        owner: "it",
        expiresAt: at(3 * 86400),
        reviewAt: at(86400),
      },
    });
    const { id } = filed.json<{ id: string }>();
    // Revoked in the store alone: a request filed while the revocation committed, which its
    // sweep of the key's requests did not see, is left waiting for an approver.
    await t.store.transaction(({ apiKeys }) => apiKeys.revoke(leaked.key.id, at(60)));
    const approval = await t.call("POST", `/v1/tenants/acme/exemptions/${id}/approve`, {
      key: keys.acmeApprover,
    });
    expect(codeOf(approval)).toEqual([409, "exemption.requester_revoked"]);
    expect(approval.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(approval.json()).toMatchObject({
      details: { requestedBy: leaked.key.id, revokedAt: at(60) },
    });
    const read = await t.call("GET", `/v1/tenants/acme/exemptions/${id}`, {
      key: keys.acmeAuditor,
    });
    expect(read.json()).toMatchObject({ status: "requested" });
  });
});

describe("decisions", () => {
  const decide = (key: string, principal: string, events: unknown[], tenant = "acme") =>
    t.call("POST", `/v1/tenants/${tenant}/decisions`, {
      key,
      body: { principal: { id: principal }, evidence: { events } },
    });
  const password = { method: "password", source: "platform", at: at(-60) };
  const totp = { method: "totp", source: "platform", at: at(-30) };

  it("decides a sign-in with 201, Location and the receipt id, and counts it", async () => {
    const response = await decide(keys.service, "alice", [password, totp]);
    expect(response.statusCode).toBe(201);
    const decision = response.json<{ id: string; outcome: string; mode: string }>();
    expect(decision).toMatchObject({ outcome: "allow", mode: "enforce", tenant: "acme" });
    expect(response.headers.location).toBe(`/v1/decisions/${decision.id}`);
    const metrics = await t.metrics.registry.getSingleMetricAsString("tenant_mfa_decisions_total");
    expect(metrics).toContain('tenant_mfa_decisions_total{outcome="allow",mode="enforce"} 1');
  });

  it("challenges a password alone, and lets a break-glass exemption through", async () => {
    const challenged = await decide(keys.service, "alice", [password]);
    expect(challenged.json()).toMatchObject({ outcome: "challenge" });
    const exempted = await decide(keys.service, "breakglass", [password]);
    expect(exempted.json()).toMatchObject({ outcome: "allow", exemption: { breakGlass: true } });
  });

  it("is for the platform service only", async () => {
    expect(codeOf(await decide(keys.acmeAdmin, "alice", [password]))).toEqual([
      403,
      "auth.forbidden",
    ]);
  });

  it("refuses an unregistered principal without a population", async () => {
    expect(codeOf(await decide(keys.service, "stranger", [password]))).toEqual([
      422,
      "principal.unknown",
    ]);
  });

  it("serves the receipt to the tenant's auditor, and 404 to another tenant", async () => {
    const { id } = (await decide(keys.service, "alice", [password, totp])).json<{ id: string }>();
    const receipt = await t.call("GET", `/v1/decisions/${id}`, { key: keys.acmeAuditor });
    expect(receipt.statusCode).toBe(200);
    expect(receipt.json()).toMatchObject({
      id,
      tenant: "acme",
      principal: "alice",
      outcome: "allow",
      recordedBy: `evt_${id}`,
    });
    const foreign = await t.call("GET", `/v1/decisions/${id}`, { key: keys.globexAdmin });
    expect(codeOf(foreign)).toEqual([404, "not_found"]);
  });
});

describe("audit", () => {
  it("pages through the tenant's chain with type and cursor filters", async () => {
    const first = await t.call("GET", "/v1/tenants/acme/audit?limit=3", { key: keys.acmeAuditor });
    const page = first.json<{ items: { seq: number; chain: string }[]; next: string | null }>();
    expect(page.items.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(page.items.every((e) => e.chain === "tenant:acme")).toBe(true);
    const second = await t.call("GET", `/v1/tenants/acme/audit?limit=3&after=${page.next}`, {
      key: keys.acmeAuditor,
    });
    expect(second.json<{ items: { seq: number }[] }>().items[0]?.seq).toBe(4);
    const breakGlass = await t.call(
      "GET",
      "/v1/tenants/acme/audit?type=exemption.break_glass_used",
      {
        key: keys.acmeAuditor,
      },
    );
    const events = breakGlass.json<{ items: { type: string }[] }>().items;
    expect(events.length).toBe(1);
    expect(events[0]?.type).toBe("exemption.break_glass_used");
  });

  // Stored times compare as UTC text: an instant written with an offset is the same instant, and
  // one past year 9999 in UTC has no such text ("+010000-…") and would compare as garbage,
  // answering every event for a `from` after them all, or none for a `to` after them all.
  it("filters by a from/to window given with any offset, and refuses an instant past year 9999 in UTC", async () => {
    const all = await t.call("GET", "/v1/tenants/acme/audit?limit=500", { key: keys.acmeAuditor });
    const events = all.json<{ items: { seq: number; at: string }[] }>().items;
    const third = events[2];
    if (third === undefined) throw new Error("expected events");
    const offset = new Date(Date.parse(third.at) + 2 * 3600_000)
      .toISOString()
      .replace("Z", "+02:00");
    const window = await t.call(
      "GET",
      `/v1/tenants/acme/audit?limit=500&from=${encodeURIComponent(offset)}&to=${encodeURIComponent(offset)}`,
      { key: keys.acmeAuditor },
    );
    expect(window.statusCode, window.body).toBe(200);
    expect(window.json<{ items: unknown[] }>().items).toEqual([]);
    const since = await t.call(
      "GET",
      `/v1/tenants/acme/audit?limit=500&from=${encodeURIComponent(offset)}`,
      {
        key: keys.acmeAuditor,
      },
    );
    expect(since.json<{ items: { seq: number }[] }>().items.map((e) => e.seq)).toEqual(
      events.filter((e) => e.at >= third.at).map((e) => e.seq),
    );
    const late = encodeURIComponent("9999-12-31T23:59:59-23:59");
    for (const query of [`from=${late}`, `to=${late}`, `from=${late}&format=jsonl`]) {
      const refused = await t.call("GET", `/v1/tenants/acme/audit?${query}`, {
        key: keys.acmeAuditor,
      });
      expect(codeOf(refused), query).toEqual([400, "request.invalid"]);
    }
  });

  it("exports the whole chain as JSON Lines, by query or by Accept", async () => {
    const all = await t.call("GET", "/v1/tenants/acme/audit?limit=500", { key: keys.acmeAuditor });
    const count = all.json<{ items: unknown[] }>().items.length;
    for (const options of [
      { url: "/v1/tenants/acme/audit?format=jsonl&limit=2", headers: {} },
      { url: "/v1/tenants/acme/audit?limit=2", headers: { accept: "application/x-ndjson" } },
    ]) {
      const response = await t.call("GET", options.url, {
        key: keys.acmeAuditor,
        headers: options.headers,
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toMatch(/^application\/x-ndjson/);
      const lines = response.body
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as { seq: number });
      expect(lines.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    }
    const refused = await t.call("GET", "/v1/tenants/acme/audit?format=jsonl", {
      key: keys.globexAdmin,
    });
    expect(codeOf(refused)).toEqual([404, "not_found"]);
  });

  it("verifies one tenant's chain, and every chain for platform administrators", async () => {
    const tenant = await t.call("GET", "/v1/audit/verify?tenant=acme", { key: keys.acmeAuditor });
    expect(tenant.json()).toMatchObject({ ok: true, chains: 1 });
    const all = await t.call("GET", "/v1/audit/verify", { key: t.adminKey });
    expect(all.json<{ ok: boolean; chains: number }>()).toMatchObject({ ok: true });
    expect(all.json<{ chains: number }>().chains).toBeGreaterThanOrEqual(3);
    const forbidden = await t.call("GET", "/v1/audit/verify", { key: keys.acmeAuditor });
    expect(codeOf(forbidden)).toEqual([403, "auth.forbidden"]);
  });

  it("hands an auditor a signed checkpoint, and verifies the chain against it later", async () => {
    const taken = await t.call("GET", "/v1/audit/checkpoint?tenant=acme", {
      key: keys.acmeAuditor,
    });
    expect(taken.statusCode, taken.body).toBe(200);
    const { checkpoint, seq } = taken.json<{ checkpoint: string; seq: number }>();
    const verified = await t.call(
      "GET",
      `/v1/audit/verify?tenant=acme&checkpoint=${encodeURIComponent(checkpoint)}`,
      { key: keys.acmeAuditor },
    );
    expect(verified.json()).toMatchObject({
      ok: true,
      checkpoint: { chain: "tenant:acme", seq },
    });
    // acme's checkpoint says nothing about globex's chain.
    const elsewhere = await t.call(
      "GET",
      `/v1/audit/verify?tenant=globex&checkpoint=${encodeURIComponent(checkpoint)}`,
      { key: t.adminKey },
    );
    expect(codeOf(elsewhere)).toEqual([400, "audit.checkpoint_invalid"]);
  });
});

describe("branding", () => {
  it("sets and removes the logo of the hosted pages, audited, and refuses one that is not https", async () => {
    const set = await t.call("PUT", "/v1/tenants/acme/branding", {
      key: keys.acmeAdmin,
      body: { logoUrl: "https://cdn.acme.example/logo.svg" },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ id: "acme", logoUrl: "https://cdn.acme.example/logo.svg" });
    for (const logoUrl of ["http://cdn.acme.example/logo.svg", "javascript:alert(1)", "logo.svg"]) {
      const refused = await t.call("PUT", "/v1/tenants/acme/branding", {
        key: keys.acmeAdmin,
        body: { logoUrl },
      });
      expect(codeOf(refused)).toEqual([400, "request.invalid"]);
    }
    const removed = await t.call("PUT", "/v1/tenants/acme/branding", {
      key: keys.acmeAdmin,
      body: { logoUrl: null },
    });
    expect(removed.json()).not.toHaveProperty("logoUrl");
    const audit = await t.call("GET", "/v1/tenants/acme/audit?type=tenant.branding_changed", {
      key: keys.acmeAuditor,
    });
    expect(audit.json<{ items: { payload: unknown }[] }>().items.map((e) => e.payload)).toEqual([
      { before: null, after: "https://cdn.acme.example/logo.svg" },
      { before: "https://cdn.acme.example/logo.svg", after: null },
    ]);
  });
});
