/**
 * Threat: a principal id that shows one thing and is another. Controls (NUL, newline) split log
 * lines and audit exports; format characters (a right-to-left override, zero-width joiners)
 * make two ids look alike or one look like another in administrators' screens. Every route
 * that takes a principal id, in its path, body or query, refuses them with a 400 problem naming
 * the parameter; every printable character is still accepted. White space at either end is
 * refused too, in a path as in a body: were it trimmed in one and kept in the other, a decision
 * asked for the registered "alice " would be made as "alice", on her exemptions.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
});
afterAll(() => t.close());

const REFUSED: readonly [string, string][] = [
  ["a NUL (Cc)", "al%00ice"],
  ["a newline (Cc)", "alice%0Aadmin"],
  ["a tab (Cc)", "%09alice"],
  ["DEL (Cc)", "alice%7F"],
  ["a C1 control, NEL (Cc)", "alice%C2%85"],
  ["a right-to-left override (Cf)", "alice%E2%80%AEtxt.exe"],
  ["a zero-width space (Cf)", "al%E2%80%8Bice"],
  ["a zero-width joiner (Cf)", "al%E2%80%8Dice"],
  ["a byte order mark (Cf)", "%EF%BB%BFalice"],
  ["a soft hyphen (Cf)", "al%C2%ADice"],
  ["a line separator (Zl)", "alice%E2%80%A8admin"],
  ["a space at the end", "alice%20"],
  ["a space at the start", "%20alice"],
  ["a no-break space at the end", "alice%C2%A0"],
];

const put = (encodedId: string) =>
  t.call("PUT", `/v1/tenants/acme/principals/${encodedId}`, {
    key: t.adminKey,
    body: { population: "direct" },
  });

function expectRefusedParameter(response: LightMyRequestResponse) {
  expect(response.statusCode).toBe(400);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = response.json<{ code: string; errors?: { pointer: string }[] }>();
  expect(problem.code).toBe("request.invalid");
  expect(problem.errors?.map((e) => e.pointer)).toContain("#/params/principal");
}

describe("principal ids", () => {
  it.each(REFUSED)("refuses an id with %s, storing nothing", async (_name, encodedId) => {
    expectRefusedParameter(await put(encodedId));
    const listed = await t.call("GET", "/v1/tenants/acme/principals", { key: t.adminKey });
    const ids = listed.json<{ items: { id: string }[] }>().items.map((p) => p.id);
    expect(ids).not.toContain(decodeURIComponent(encodedId));
  });

  it.each([
    ["an email address", "alice%40example.com", "alice@example.com"],
    ["a space inside", "Jane%20Doe", "Jane Doe"],
    ["a slash", "ops%2Fbatch", "ops/batch"],
    ["letters beyond Latin", "Zo%C3%AB-%E5%B1%B1%E7%94%B0", "Zoë-山田"],
    ["an emoji", "%F0%9F%99%82", "🙂"],
  ])("keeps an id with %s", async (_name, encodedId, id) => {
    const response = await put(encodedId);
    expect(response.statusCode).toBe(200);
    expect(response.json<{ id: string }>().id).toBe(id);
    const read = await t.call("GET", `/v1/tenants/acme/principals/${encodedId}`, {
      key: t.adminKey,
    });
    expect(read.json<{ id: string }>().id).toBe(id);
  });

  it("refuses them on every route that takes a principal id", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.includes("{principal}"))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ path, method })));
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const { path, method } of operations) {
      for (const encodedId of ["al%00ice", "alice%E2%80%AEtxt.exe"]) {
        const url = path.replace("{principal}", encodedId).replace(/\{[^}]+\}/g, "acme");
        const response = await t.call(method.toUpperCase(), url, {
          key: t.adminKey,
          ...(method === "post" || method === "put" ? { body: {} } : {}),
        });
        expect(response.statusCode, `${method} ${url}`).toBe(400);
        expectRefusedParameter(response);
      }
    }
  });

  it.each([
    ["a decision request", "POST", "/v1/tenants/acme/decisions", "#/principal/id"],
    ["a flow", "POST", "/v1/tenants/acme/flows", "#/principal/id"],
    ["an exemption request", "POST", "/v1/tenants/acme/exemptions", "#/principal"],
  ] as const)("refuses them where %s names a principal", async (_name, method, url, pointer) => {
    for (const principal of ["alice\u202etxt.exe", "alice ", "\u00a0alice"]) {
      const body = pointer === "#/principal" ? { principal } : { principal: { id: principal } };
      const response = await t.call(method, url, { key: t.adminKey, body });
      expect(response.statusCode, JSON.stringify(principal)).toBe(400);
      const problem = response.json<{ errors?: { pointer: string }[] }>();
      expect(problem.errors?.map((e) => e.pointer)).toContain(pointer);
    }
  });

  it("refuses them in the exemption list's principal filter", async () => {
    for (const principal of ["al%E2%80%8Bice", "alice%20"]) {
      const response = await t.call("GET", `/v1/tenants/acme/exemptions?principal=${principal}`, {
        key: t.adminKey,
      });
      expect(response.statusCode).toBe(400);
      const problem = response.json<{ errors?: { pointer: string }[] }>();
      expect(problem.errors?.map((e) => e.pointer)).toContain("#/query/principal");
    }
  });
});
