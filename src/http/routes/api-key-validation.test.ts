/**
 * Threat: a key that reaches a tenant which does not exist yet would reach whoever later takes
 * that tenant id; a key that expired before it was issued is a silent misconfiguration. Both
 * are refused with a problem, and nothing is issued.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainOf } from "../../app/audit/audit-chain.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
});
afterAll(() => t.close());

const create = (body: Record<string, unknown>) =>
  t.call("POST", "/v1/api-keys", {
    key: t.adminKey,
    body: { name: "k", roles: ["tenant_auditor"], tenants: ["acme"], ...body },
  });

const problemOf = (response: LightMyRequestResponse) => ({
  status: response.statusCode,
  type: String(response.headers["content-type"]).split(";")[0],
  code: response.json<{ code?: string }>().code,
});

const keyCount = async () =>
  (await t.call("GET", "/v1/api-keys", { key: t.adminKey })).json<{ items: unknown[] }>().items
    .length;

const at = (offsetSeconds: number) =>
  new Date(t.clock.now().getTime() + offsetSeconds * 1000).toISOString();

describe("creating an API key", () => {
  it.each([
    ["an hour ago", -3600],
    ["a millisecond ago", -0.001],
    ["now", 0],
  ])("refuses an expiry %s with 400 request.invalid, issuing nothing", async (_name, offset) => {
    const before = await keyCount();
    const response = await create({ expiresAt: at(offset) });
    expect(problemOf(response)).toEqual({
      status: 400,
      type: "application/problem+json",
      code: "request.invalid",
    });
    expect(response.json<{ detail: string }>().detail).toMatch(/expiresAt/);
    expect(await keyCount()).toBe(before);
  });

  it("accepts an expiry in the future", async () => {
    const response = await create({ expiresAt: at(1) });
    expect(response.statusCode).toBe(201);
    expect(response.json<{ key: { expiresAt: string } }>().key.expiresAt).toBe(at(1));
  });

  it.each([[["str"]], [["__proto__"]], [["constructor"]], [["acme", "globex"]]])(
    "refuses tenants %j, one of which does not exist, with 404 not_found, issuing nothing",
    async (tenants) => {
      const before = await keyCount();
      const response = await create({ tenants });
      expect(problemOf(response)).toEqual({
        status: 404,
        type: "application/problem+json",
        code: "not_found",
      });
      expect(await keyCount()).toBe(before);
    },
  );

  it("refuses audiences on a key without platform_service, issuing nothing", async () => {
    const before = await keyCount();
    const response = await create({ audiences: ["https://billing.acme.example"] });
    expect(problemOf(response)).toEqual({
      status: 400,
      type: "application/problem+json",
      code: "request.invalid",
    });
    expect(response.json<{ detail: string }>().detail).toMatch(/platform_service/);
    expect(await keyCount()).toBe(before);
  });

  it.each([[[]], [[""]], [["   "]]])(
    "refuses audiences %j with 400 request.invalid",
    async (audiences) => {
      const response = await create({ roles: ["platform_service"], audiences });
      expect(problemOf(response)).toMatchObject({ status: 400, code: "request.invalid" });
    },
  );

  it("answers and audits the holder and audiences it was given", async () => {
    const response = await create({
      roles: ["platform_service"],
      holder: "billing-backend",
      audiences: ["https://billing.acme.example"],
    });
    expect(response.statusCode).toBe(201);
    const { key } = response.json<{ key: { id: string } }>();
    expect(key).toMatchObject({
      holder: "billing-backend",
      audiences: ["https://billing.acme.example"],
    });
    const platformChain = await t.store.read(({ audit }) =>
      audit.read(chainOf(null), { afterSeq: 0, limit: 500 }),
    );
    const created = platformChain.find(
      (event) => event.type === "api_key.created" && event.payload["id"] === key.id,
    );
    expect(created?.payload).toMatchObject({
      holder: "billing-backend",
      audiences: ["https://billing.acme.example"],
    });
  });

  it("issues a key for tenants that exist, or for all", async () => {
    expect((await create({ tenants: ["acme"] })).statusCode).toBe(201);
    expect((await create({ tenants: "all" })).statusCode).toBe(201);
  });
});
