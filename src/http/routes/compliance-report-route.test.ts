// The compliance report over HTTP: the query checked (a bad period or number is a 400 naming the
// field, never a 500), the report answered in the shape the OpenAPI document gives it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { complianceReport } from "../response-schemas.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
let auditor = "";

beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  auditor = await t.key(["tenant_auditor"], ["acme"]);
  const service = await t.key(["platform_service"], ["acme"]);
  await t.call("PUT", "/v1/tenants/acme/principals/alice", {
    key: t.adminKey,
    body: { population: "direct" },
  });
  await t.call("POST", "/v1/tenants/acme/decisions", {
    key: service,
    body: {
      principal: { id: "alice" },
      evidence: {
        events: [{ method: "password", source: "platform", at: "2026-11-23T11:59:00Z" }],
      },
    },
  });
});
afterAll(() => t.close());

describe("GET /v1/tenants/:tenant/reports/compliance", () => {
  it("answers the report in its documented shape", async () => {
    const response = await t.call(
      "GET",
      "/v1/tenants/acme/reports/compliance?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00%2B01:00&dueWithinDays=30",
      { key: auditor },
    );
    expect(response.statusCode).toBe(200);
    const body = response.json<unknown>();
    expect(complianceReport.strict().safeParse(body).success).toBe(true);
    expect(body).toMatchObject({
      tenant: "acme",
      period: { from: "2026-11-01T00:00:00.000Z", to: "2026-11-30T23:00:00.000Z" },
      exemptions: { dueWithinDays: 30 },
      decisions: { total: 1, byOutcome: { challenge: 1 } },
      principals: { registered: 1 },
    });
  });

  it.each([
    ["from=yesterday", "/from"],
    ["to=2026-13-01T00:00:00Z", "/to"],
    ["dueWithinDays=0", "/dueWithinDays"],
    ["dueWithinDays=91", "/dueWithinDays"],
    ["dueWithinDays=1e1", "/dueWithinDays"],
    ["tenant=globex", "/tenant"],
    ["from=2026-11-01T00:00:00Z&from=2026-11-02T00:00:00Z", "/from"],
    ["from=", "/from"],
    ["from=2026-11-01T00:00:00Z%00", "/from"],
    ["to=10000-01-01T00:00:00Z", "/to"],
    ["dueWithinDays=00", "/dueWithinDays"],
    ["dueWithinDays=1&dueWithinDays=2", "/dueWithinDays"],
    ["dueWithinDays=%2B5", "/dueWithinDays"],
  ])("refuses ?%s with a 400 naming %s", async (query, pointer) => {
    const response = await t.call("GET", `/v1/tenants/acme/reports/compliance?${query}`, {
      key: auditor,
    });
    expect(response.statusCode).toBe(400);
    const problem = response.json<{ code: string; errors?: { pointer: string }[] }>();
    expect(problem.code).toBe("request.invalid");
    expect(problem.errors?.map((e) => e.pointer)).toContain(`#/query${pointer}`);
  });

  // Checked by the use case, not the query's schema: pointed at all the same.
  it.each([
    ["from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", ["/from", "/to"]],
    ["from=2025-01-01T00:00:00Z&to=2026-11-01T00:00:00Z", ["/from", "/to"]],
    // Only the field given is at fault: `to` defaults to now.
    ["from=2025-01-01T00:00:00Z", ["/from"]],
    ["from=2026-12-01T00:00:00Z", ["/from"]],
    // An instant the query accepts, but before year 0000 in UTC.
    ["from=0000-01-01T00:00:00%2B01:00", ["/from"]],
  ])(
    "refuses the period of ?%s (ends before it starts, runs past a year and a day, or starts before year 0000), pointing at %j",
    async (query, pointers) => {
      const response = await t.call("GET", `/v1/tenants/acme/reports/compliance?${query}`, {
        key: auditor,
      });
      expect(response.statusCode).toBe(400);
      const problem = response.json<{ code: string; errors?: { pointer: string }[] }>();
      expect(problem.code).toBe("request.invalid");
      expect(problem.errors?.map((e) => e.pointer)).toEqual(pointers.map((p) => `#/query${p}`));
    },
  );
});

describe("GET /v1/tenants/:tenant/audit", () => {
  it("points at a period bound the query accepts but the use case cannot read (past year 9999 in UTC)", async () => {
    const response = await t.call("GET", "/v1/tenants/acme/audit?to=9999-12-31T23:30:00-01:00", {
      key: auditor,
    });
    expect(response.statusCode).toBe(400);
    const problem = response.json<{ code: string; detail: string; errors?: unknown[] }>();
    expect(problem).toMatchObject({
      code: "request.invalid",
      detail: "to must be an ISO 8601 time within years 0000–9999 in UTC.",
      errors: [
        { pointer: "#/query/to", detail: "must be an ISO 8601 time within years 0000–9999 in UTC" },
      ],
    });
  });
});
