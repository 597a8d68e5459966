/**
 * DESIGN invariant 8: bad input gets a clear 4xx problem with a stable code, never a 500, never a
 * hang. Every request here goes through the real server, application and SQLite store.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 4096 });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
});
afterAll(() => t.close());

function expectProblem(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = response.json<{ status: number; code: string; type: string; title: string }>();
  expect({ httpStatus: response.statusCode, status: body.status, code: body.code }).toEqual({
    httpStatus: status,
    status,
    code,
  });
  expect(body.type).toBe(`urn:tenant-mfa:problem:${code}`);
  expect(body.title.length).toBeGreaterThan(0);
  return response.json<{ detail: string; errors?: { pointer: string; detail: string }[] }>();
}

const raw = (
  method: "POST" | "PUT",
  url: string,
  payload: string,
  contentType = "application/json",
) =>
  t.server.inject({
    method,
    url,
    payload,
    headers: { authorization: `Bearer ${t.adminKey}`, "content-type": contentType },
  });

describe("bad request bodies", () => {
  it("answers malformed JSON with 400 request.invalid", async () => {
    const body = expectProblem(
      await raw("POST", "/v1/tenants", '{"id": "x",'),
      400,
      "request.invalid",
    );
    expect(body.detail).toBe("The body is not valid JSON.");
  });

  it("answers an empty JSON body with 400 request.invalid where a body is needed", async () => {
    const body = expectProblem(await raw("POST", "/v1/tenants", ""), 400, "request.invalid");
    expect(body.errors?.[0]?.pointer).toBe("#");
  });

  it("accepts an empty JSON body where none is needed", async () => {
    const created = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: { name: "k", roles: ["tenant_auditor"], tenants: ["acme"] },
    });
    const { key } = created.json<{ key: { id: string } }>();
    const response = await t.server.inject({
      method: "DELETE",
      url: `/v1/api-keys/${key.id}`,
      headers: { authorization: `Bearer ${t.adminKey}`, "content-type": "application/json" },
    });
    expect(response.statusCode).toBe(204);
  });

  it("answers a missing body with 400 request.invalid naming the body", async () => {
    const response = await t.call("POST", "/v1/tenants", { key: t.adminKey });
    const body = expectProblem(response, 400, "request.invalid");
    expect(body.errors?.[0]?.pointer).toBe("#");
  });

  it("answers a JSON array or scalar where an object is expected with 400", async () => {
    expectProblem(await raw("POST", "/v1/tenants", "[1,2]"), 400, "request.invalid");
    expectProblem(await raw("POST", "/v1/tenants", '"acme"'), 400, "request.invalid");
    expectProblem(await raw("POST", "/v1/tenants", "null"), 400, "request.invalid");
  });

  it("names every field of the wrong type", async () => {
    const response = await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: 42, name: ["Acme"] },
    });
    const body = expectProblem(response, 400, "request.invalid");
    expect(body.errors?.map((e) => e.pointer)).toEqual(["#/id", "#/name"]);
  });

  it("refuses unknown fields, at any depth, by pointer", async () => {
    const top = await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: "initech", name: "Initech", plan: "gold" },
    });
    expect(expectProblem(top, 400, "request.invalid").errors).toEqual([
      { pointer: "#/plan", detail: "unknown field" },
    ]);
    const nested = await t.call("PUT", "/v1/tenants/acme/policy", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: {
        policy: { posture: "platform_mfa", require: { minAal: 2, mfa: true } },
        rationale: "r",
      },
    });
    expect(expectProblem(nested, 400, "request.invalid").errors).toEqual([
      { pointer: "#/policy/require/mfa", detail: "unknown field" },
    ]);
  });

  it("refuses values outside the vocabulary", async () => {
    const response = await t.call("PUT", "/v1/tenants/acme/policy", {
      key: t.adminKey,
      headers: { "if-match": "1" },
      body: { policy: { posture: "sms_is_fine" }, rationale: "r" },
    });
    expect(expectProblem(response, 400, "request.invalid").errors?.[0]?.pointer).toBe(
      "#/policy/posture",
    );
  });

  it("refuses times that are not ISO 8601 date-times", async () => {
    const response = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: { name: "k", roles: ["tenant_auditor"], tenants: ["acme"], expiresAt: "tomorrow" },
    });
    expect(expectProblem(response, 400, "request.invalid").errors?.[0]?.pointer).toBe(
      "#/expiresAt",
    );
  });

  it("refuses prototype-poisoning JSON", async () => {
    expectProblem(
      await raw("POST", "/v1/tenants", '{"id":"evil","name":"E","__proto__":{"admin":true}}'),
      400,
      "request.invalid",
    );
    expectProblem(
      await raw("POST", "/v1/tenants", '{"id":"evil","name":"E","constructor":{"prototype":{}}}'),
      400,
      "request.invalid",
    );
  });

  it("refuses JSON nested deeper than 32 levels, before any route sees it", async () => {
    // 2,000 levels fit in 4 KiB and parse; whatever then walks them recursively overflows.
    const deep = (levels: number) =>
      `{"id":"t","name":"T","x":${"[".repeat(levels)}${"]".repeat(levels)}}`;
    const body = expectProblem(
      await raw("POST", "/v1/tenants", deep(2000)),
      400,
      "request.invalid",
    );
    expect(body.detail).toBe("The JSON body nests deeper than 32 levels.");
    // 32 levels in all (the body object and 31 arrays) reach the route, which names the field.
    const within = expectProblem(
      await raw("POST", "/v1/tenants", deep(31)),
      400,
      "request.invalid",
    );
    expect(within.errors?.map((error) => error.pointer)).toEqual(["#/x"]);
    expect(
      expectProblem(await raw("POST", "/v1/tenants", deep(32)), 400, "request.invalid").detail,
    ).toBe("The JSON body nests deeper than 32 levels.");
  });

  it("refuses a body on a route that takes none", async () => {
    const response = await raw(
      "POST",
      "/v1/tenants/acme/exemptions/exm_1/approve",
      '{"force":true}',
    );
    expect(expectProblem(response, 400, "request.invalid").errors).toEqual([
      { pointer: "#", detail: "this route takes no body" },
    ]);
  });

  it("refuses a query on a route that takes none, rather than answer as if it were not there", async () => {
    // A filter the route does not have would otherwise list every key as if it had applied.
    const keys = await t.call("GET", "/v1/api-keys?tenant=acme&active=true", { key: t.adminKey });
    expect(expectProblem(keys, 400, "request.invalid").errors).toEqual([
      { pointer: "#/query/tenant", detail: "unknown field" },
      { pointer: "#/query/active", detail: "unknown field" },
    ]);
    const exchange = await t.call("POST", "/v1/flows/exchange?code=abc", {
      key: t.adminKey,
      body: { code: "abc" },
    });
    expect(expectProblem(exchange, 400, "request.invalid").errors).toEqual([
      { pointer: "#/query/code", detail: "unknown field" },
    ]);
  });

  it("answers an oversized body with 413 request.too_large", async () => {
    const name = "x".repeat(5000);
    expectProblem(
      await raw("POST", "/v1/tenants", JSON.stringify({ id: "big", name })),
      413,
      "request.too_large",
    );
  });

  it("answers a body that is not JSON with 415 request.unsupported_media_type", async () => {
    for (const type of ["text/plain", "application/xml", "application/x-www-form-urlencoded"]) {
      expectProblem(
        await raw("POST", "/v1/tenants", "id=acme&name=Acme", type),
        415,
        "request.unsupported_media_type",
      );
    }
  });

  it("names the form media type too, for a route that takes forms (the SAML ACS)", async () => {
    // As a script asks: a browser gets the ACS's explanation page (federation-acs.body-refusals).
    const response = await t.server.inject({
      method: "POST",
      url: "/t/acme/idps/corp/saml/acs",
      payload: "SAMLResponse",
      headers: { "content-type": "text/plain", accept: "application/json" },
    });
    expectProblem(response, 415, "request.unsupported_media_type");
    expect(response.json<{ title: string }>().title).toContain(
      "`application/x-www-form-urlencoded` for the SAML ACS",
    );
  });
});

describe("bad paths, methods, headers and queries", () => {
  it("answers an unknown route with 404 route.not_found, signed in or not", async () => {
    expectProblem(await t.call("GET", "/nope"), 404, "route.not_found");
    expectProblem(await t.call("GET", "/v1/nope", { key: t.adminKey }), 404, "route.not_found");
    expectProblem(
      await t.call("GET", "/v1/tenants/acme/", { key: t.adminKey }),
      404,
      "route.not_found",
    );
  });

  it("answers a wrong method with 405 method.not_allowed and Allow", async () => {
    const response = await t.call("DELETE", "/v1/tenants/acme/policy", { key: t.adminKey });
    expectProblem(response, 405, "method.not_allowed");
    expect(response.headers.allow).toBe("GET, HEAD, PUT");
    const patch = await t.call("PATCH", "/healthz");
    expectProblem(patch, 405, "method.not_allowed");
    expect(patch.headers.allow).toBe("GET, HEAD");
  });

  it("answers a malformed path encoding with 400", async () => {
    const response = await t.call("GET", "/v1/tenants/%E0%A4%A", { key: t.adminKey });
    expect(response.statusCode).toBe(400);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });

  it("refuses bad paging parameters and unknown query parameters", async () => {
    for (const query of [
      "limit=abc",
      "limit=0",
      "limit=501",
      "limit=1.5",
      "sort=name",
      "limit=1&limit=2",
    ]) {
      const response = await t.call("GET", `/v1/tenants?${query}`, { key: t.adminKey });
      expectProblem(response, 400, "request.invalid");
    }
    for (const chain of ["/v1/tenants/acme/audit", "/v1/platform/audit"]) {
      const after = await t.call("GET", `${chain}?after=yesterday`, { key: t.adminKey });
      expectProblem(after, 400, "request.invalid");
    }
  });

  it("refuses an If-Match that is not a version", async () => {
    for (const ifMatch of ['W/"1"', "*", '"one"', '"1", "2"']) {
      const response = await t.call("PUT", "/v1/tenants/acme/policy", {
        key: t.adminKey,
        headers: { "if-match": ifMatch },
        body: { policy: { posture: "platform_mfa" }, rationale: "r" },
      });
      expect(expectProblem(response, 400, "request.invalid").errors?.[0]?.pointer).toBe(
        "#/headers/if-match",
      );
    }
  });
});

describe("every route", () => {
  it("answers garbage with a 4xx problem, never a 500", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const garbage = ['{"', "[]", '{"unknown": {"deeply": [1, 2, 3]}}', "1e999", '"\\u0000"'];
    let checked = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      const url = path.replace(/\{[^}]+\}/g, "acme");
      for (const method of Object.keys(operations)) {
        const upper = method.toUpperCase() as "GET" | "POST" | "PUT" | "DELETE";
        const bodies = upper === "POST" || upper === "PUT" ? garbage : [undefined];
        for (const payload of bodies) {
          const response = await t.server.inject({
            method: upper,
            url: `${url}?bogus=%00`,
            headers: {
              authorization: `Bearer ${t.adminKey}`,
              ...(payload === undefined ? {} : { "content-type": "application/json" }),
              "if-match": "nonsense",
            },
            ...(payload === undefined ? {} : { payload }),
          });
          expect(response.statusCode, `${method} ${path} ${payload ?? ""}`).toBeLessThan(500);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
  });
});
