import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oathtoolCode } from "../verifiers/totp/test-support/oathtool.js";
import { isRateLimited, RATE_LIMITED } from "./rate-limit.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
});
afterAll(() => t.close());

interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        requestBody?: { content: Record<string, { schema: { additionalProperties?: boolean } }> };
        responses: Record<
          string,
          {
            description?: string;
            headers?: Record<string, unknown>;
            content?: Record<string, { schema: unknown }>;
          }
        >;
      }
    >
  >;
  components: {
    schemas: Record<string, unknown>;
    responses?: Record<string, { headers?: Record<string, unknown> }>;
    headers?: Record<string, unknown>;
  };
}

/** Every header the document declares, named by where it is. */
function documentedHeaders(document: OpenApi): { where: string; header: unknown }[] {
  const found: { where: string; header: unknown }[] = [];
  for (const [path, operations] of Object.entries(document.paths))
    for (const [method, operation] of Object.entries(operations))
      for (const [status, response] of Object.entries(operation.responses))
        for (const [name, header] of Object.entries(response.headers ?? {}))
          found.push({ where: `${method} ${path} ${status} ${name}`, header });
  for (const [key, response] of Object.entries(document.components.responses ?? {}))
    for (const [name, header] of Object.entries(response.headers ?? {}))
      found.push({ where: `components.responses.${key} ${name}`, header });
  for (const [name, header] of Object.entries(document.components.headers ?? {}))
    found.push({ where: `components.headers.${name}`, header });
  return found;
}

// OpenAPI 3.1 §4.8.21: a Header Object is a Parameter Object without `name` and `in`.
const HEADER_OBJECT_FIELDS = new Set([
  "description",
  "required",
  "deprecated",
  "allowEmptyValue",
  "style",
  "explode",
  "allowReserved",
  "schema",
  "example",
  "examples",
  "content",
]);

// The routes that the issue names: the contract. Each must be served and documented.
const CONTRACT = [
  "GET /healthz",
  "GET /readyz",
  "GET /metrics",
  "GET /openapi.json",
  "POST /v1/platform/mandates",
  "GET /v1/platform/mandates",
  "GET /v1/platform/mandates/{id}",
  "PUT /v1/platform/mandates/{id}",
  "POST /v1/platform/mandates/{id}/retire",
  "GET /v1/platform/audit",
  "POST /v1/api-keys",
  "GET /v1/api-keys",
  "DELETE /v1/api-keys/{id}",
  "POST /v1/tenants",
  "GET /v1/tenants",
  "GET /v1/tenants/{tenant}",
  "GET /v1/tenants/{tenant}/policy",
  "PUT /v1/tenants/{tenant}/policy",
  "GET /v1/tenants/{tenant}/policy/history",
  "POST /v1/tenants/{tenant}/policy/rollback",
  "PUT /v1/tenants/{tenant}/principals/{principal}",
  "GET /v1/tenants/{tenant}/principals/{principal}",
  "GET /v1/tenants/{tenant}/principals",
  "PUT /v1/tenants/{tenant}/return-urls",
  "PUT /v1/tenants/{tenant}/branding",
  "POST /v1/tenants/{tenant}/flows",
  "POST /v1/flows/exchange",
  "PUT /v1/tenants/{tenant}/idps/{idp}",
  "GET /v1/tenants/{tenant}/idps/{idp}",
  "GET /v1/tenants/{tenant}/idps",
  "DELETE /v1/tenants/{tenant}/idps/{idp}",
  "GET /v1/tenants/{tenant}/principals/{principal}/authenticators",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/totp",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/unlock",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/{id}/confirm",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/{id}/verify",
  "DELETE /v1/tenants/{tenant}/principals/{principal}/authenticators/{id}",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/recovery-codes",
  "GET /v1/tenants/{tenant}/principals/{principal}/authenticators/recovery-codes",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/recovery-codes/verify",
  "DELETE /v1/tenants/{tenant}/principals/{principal}/authenticators/recovery-codes",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/webauthn/registrations",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/webauthn/registrations/{registration}",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/webauthn/authentications",
  "POST /v1/tenants/{tenant}/principals/{principal}/authenticators/webauthn/authentications/{authentication}",
  "GET /v1/tenants/{tenant}/webauthn",
  "PUT /v1/tenants/{tenant}/webauthn",
  "POST /v1/tenants/{tenant}/exemptions",
  "GET /v1/tenants/{tenant}/exemptions",
  "GET /v1/tenants/{tenant}/exemptions/{id}",
  "POST /v1/tenants/{tenant}/exemptions/{id}/approve",
  "POST /v1/tenants/{tenant}/exemptions/{id}/reject",
  "POST /v1/tenants/{tenant}/exemptions/{id}/revoke",
  "POST /v1/tenants/{tenant}/decisions",
  "GET /v1/decisions/{id}",
  "GET /v1/tenants/{tenant}/audit",
  "GET /v1/tenants/{tenant}/reports/compliance",
  "GET /v1/audit/verify",
  "GET /v1/audit/checkpoint",
  "GET /.well-known/jwks.json",
  "POST /v1/platform/signing-keys/rotate",
];

describe("health and readiness", () => {
  it("answers /healthz with 200 {status: ok}", async () => {
    const response = await t.call("GET", "/healthz");
    expect([response.statusCode, response.json()]).toEqual([200, { status: "ok" }]);
  });

  it("answers /readyz with 200 while the store is reachable", async () => {
    const response = await t.call("GET", "/readyz");
    expect([response.statusCode, response.json()]).toEqual([200, { status: "ready" }]);
  });

  it("sets the security headers on every response", async () => {
    // The last three Fastify refuses before routing (a path that is not UTF-8, a segment longer
    // than a parameter may be): answered by `frameworkErrors`, outside the route hooks.
    const refusedUnrouted = [
      "/v1/tenants/%FF",
      "/t/acme/flows/%FF",
      `/t/acme/flows/${"x".repeat(201)}`,
    ];
    for (const url of ["/healthz", "/nope", "/v1/tenants", ...refusedUnrouted]) {
      const response = await t.call("GET", url);
      expect(response.headers["x-content-type-options"], url).toBe("nosniff");
      expect(response.headers["x-frame-options"], url).toBe("DENY");
      expect(response.headers["cross-origin-opener-policy"], url).toBe("same-origin");
      expect(response.headers["content-security-policy"], url).toContain("frame-ancestors 'none'");
      expect(response.headers["cache-control"], url).toBe("no-store");
    }
  });
});

describe("metrics", () => {
  it("counts requests by route pattern and status, and committed audit appends", async () => {
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
    await t.call("GET", "/v1/tenants/acme", { key: t.adminKey });
    await t.call("GET", "/v1/tenants/nope", { key: t.adminKey });
    const response = await t.call("GET", "/metrics");
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/plain/);
    expect(response.body).toContain(
      'tenant_mfa_http_requests_total{method="GET",route="/v1/tenants/:tenant",status="200"} 1',
    );
    expect(response.body).toContain(
      'tenant_mfa_http_requests_total{method="GET",route="/v1/tenants/:tenant",status="404"} 1',
    );
    expect(response.body).toContain("tenant_mfa_http_request_duration_seconds_bucket");
    // bootstrap key, test tenant creation: one platform event, one tenant event at least
    expect(response.body).toMatch(/tenant_mfa_audit_appends_total\{chain_kind="tenant"\} [1-9]/);
    expect(response.body).toMatch(/tenant_mfa_audit_appends_total\{chain_kind="platform"\} [1-9]/);
    expect(response.body).toContain("# TYPE tenant_mfa_decisions_total counter");
  });
});

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and documents every route of the contract", async () => {
    const response = await t.call("GET", "/openapi.json");
    expect(response.statusCode).toBe(200);
    const document = response.json<OpenApi>();
    expect(document.openapi).toBe("3.1.0");
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual([...CONTRACT].sort());
  });

  it("documents each /v1 operation's security, request schema and problem responses", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<OpenApi>();
    expect(document.components.schemas).toHaveProperty("Problem");
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method} ${path}`;
        expect(operation.security, where).toEqual([{ bearer: [] }]);
        for (const status of ["400", "401", "403", "404", "500", "503"]) {
          expect(operation.responses[status]?.content, `${where} ${status}`).toHaveProperty(
            "application/problem+json",
          );
        }
        if (method === "post" && !path.endsWith("/approve")) {
          const schema = operation.requestBody?.content["application/json"]?.schema;
          expect(schema?.additionalProperties, where).toBe(false);
        }
      }
    }
  });

  it("declares 429 request.rate_limited, with Retry-After, on every route the address limit counts", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<OpenApi>();
    const limited = Object.entries(document.paths).flatMap(([path, operations]) =>
      // The document writes `{tenant}` where the route's pattern has `:tenant`.
      isRateLimited(path.replace(/\{([^}]+)\}/g, ":$1"))
        ? Object.entries(operations).map(([method, operation]) => ({ method, path, operation }))
        : [],
    );
    expect(limited.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort()).toEqual([
      "GET /.well-known/jwks.json",
      "GET /openapi.json",
    ]);
    for (const { method, path, operation } of limited) {
      const tooMany = operation.responses["429"];
      const where = `${method} ${path}`;
      expect(tooMany?.content, where).toHaveProperty("application/problem+json");
      expect(tooMany?.description, where).toContain(RATE_LIMITED);
      expect(tooMany?.headers?.["Retry-After"], where).toEqual({
        description: expect.any(String),
        schema: { type: "string" },
      });
    }
  });
});

describe("the OpenAPI document's response headers", () => {
  it("declares every header of every response as an OpenAPI 3.1 Header Object with a typed schema", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<OpenApi>();
    const headers = documentedHeaders(document);
    expect(headers.map(({ where }) => where)).toEqual(
      expect.arrayContaining([
        "get /v1/tenants/{tenant}/policy 200 etag",
        "post /v1/tenants 201 location",
        "get /.well-known/jwks.json 429 Retry-After",
      ]),
    );
    for (const { where, header } of headers) {
      const fields = Object.keys(header as object).filter((field) => !field.startsWith("x-"));
      expect(
        fields.filter((field) => !HEADER_OBJECT_FIELDS.has(field)),
        where,
      ).toEqual([]);
      const { schema, description } = header as { schema?: unknown; description?: unknown };
      expect(typeof description, where).toBe("string");
      expect(schema, where).toEqual(expect.objectContaining({ type: expect.any(String) }));
      expect(schema, where).not.toHaveProperty("schema");
      expect(schema, where).not.toHaveProperty("description");
    }
  });

  it("declares Retry-After on the 429 and 503 of every /v1 operation, which the wrong-key limit and an outage answer with", async () => {
    const limited = await openTestServer({ authFailureLimit: { attempts: 1, windowMs: 60_000 } });
    try {
      const document = (await limited.call("GET", "/openapi.json")).json<OpenApi>();
      const wrongKey = "tmfa_wrong_key_that_no_one_was_ever_given";
      expect((await limited.call("GET", "/v1/tenants", { key: wrongKey })).statusCode).toBe(401);
      let operations = 0;
      for (const [path, pathOperations] of Object.entries(document.paths)) {
        if (!path.startsWith("/v1/")) continue;
        for (const [method, operation] of Object.entries(pathOperations)) {
          const where = `${method} ${path}`;
          const response = await limited.call(
            method.toUpperCase(),
            path.replace(/\{[^}]+\}/g, "acme"),
            { key: wrongKey, ...(method === "post" || method === "put" ? { body: {} } : {}) },
          );
          expect([response.statusCode, response.json<{ code: string }>().code], where).toEqual([
            429,
            "auth.rate_limited",
          ]);
          expect(response.headers["retry-after"], where).toMatch(/^[1-9][0-9]*$/);
          expect(operation.responses["429"]?.headers?.["Retry-After"], where).toEqual({
            description: expect.any(String),
            schema: { type: "string" },
          });
          // A 503 (`store.unavailable`) says when to try again too.
          expect(operation.responses["503"]?.headers?.["Retry-After"], where).toEqual({
            description: expect.any(String),
            schema: { type: "string" },
          });
          operations += 1;
        }
      }
      expect(operations).toBe(CONTRACT.filter((route) => route.includes(" /v1/")).length);
    } finally {
      await limited.close();
    }
  });

  it("declares Retry-After on the verification route's 429, which the verification throttle answers with it", async () => {
    const service = await t.key(["platform_service"], "all");
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "throttled", name: "T" } });
    const base = "/v1/tenants/throttled/principals/pat/authenticators";
    await t.call("PUT", "/v1/tenants/throttled/principals/pat", {
      key: t.adminKey,
      body: { population: "direct" },
    });
    const begun = await t.call("POST", `${base}/totp`, { key: service, body: {} });
    const { authenticator, secret } = begun.json<{
      authenticator: { id: string };
      secret: string;
    }>();
    const confirmed = await t.call("POST", `${base}/${authenticator.id}/confirm`, {
      key: service,
      body: { code: oathtoolCode(secret, t.clock.now()) },
    });
    expect(confirmed.statusCode).toBe(200);
    t.clock.advance(60);
    const verify = (at: Date) =>
      t.call("POST", `${base}/${authenticator.id}/verify`, {
        key: service,
        body: { code: oathtoolCode(secret, at) },
      });
    const stale = new Date(t.clock.now().getTime() - 300_000);
    let response = await verify(stale);
    for (let n = 0; n < 20 && response.statusCode === 422; n += 1) response = await verify(stale);
    expect([response.statusCode, response.json<{ code: string }>().code]).toEqual([
      429,
      "authenticator.throttled",
    ]);
    expect(response.headers["retry-after"]).toMatch(/^[1-9][0-9]*$/);

    const document = (await t.call("GET", "/openapi.json")).json<OpenApi>();
    const operation =
      document.paths["/v1/tenants/{tenant}/principals/{principal}/authenticators/{id}/verify"]
        ?.post;
    expect(operation?.responses["429"]?.headers?.["Retry-After"]).toEqual({
      description: expect.any(String),
      schema: { type: "string" },
    });
  });
});

describe("when the store is down", () => {
  it("answers decisions and readiness with 503 store.unavailable, never a decision", async () => {
    const down = await openTestServer();
    const service = await down.key(["platform_service"], "all");
    await down.call("POST", "/v1/tenants", { key: down.adminKey, body: { id: "acme", name: "A" } });
    await down.store.close();

    const decision = await down.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice", population: "direct" },
        evidence: {
          events: [{ method: "password", source: "platform", at: "2026-11-23T11:59:00Z" }],
        },
      },
    });
    expect(decision.statusCode).toBe(503);
    expect(decision.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(decision.headers["retry-after"]).toBe("5");
    expect(decision.json()).toMatchObject({ code: "store.unavailable" });
    expect(decision.body).not.toContain("allow");

    const ready = await down.call("GET", "/readyz");
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ code: "store.unavailable" });
    expect((await down.call("GET", "/healthz")).statusCode).toBe(200);
    await down.close();
  });
});
