// DESIGN invariant 8 for the flow API: every malformed flow request or code gets a 4xx problem
// with a stable code, never a 500; and the platform cannot vouch for MFA it did not have
// tenant-mfa verify (invariant 3).
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const RETURN = "https://app.acme.example/signed-in";
let t: TestServer;
let service: string;

beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: "acme", name: "Acme", returnUrls: [RETURN] },
  });
  service = await t.key(["platform_service"], "all");
});
afterAll(() => t.close());

const problem = (response: LightMyRequestResponse) => ({
  status: response.statusCode,
  code: response.json<{ code?: string }>().code,
  type: response.headers["content-type"],
});
const create = (body: unknown, tenant = "acme") =>
  t.call("POST", `/v1/tenants/${tenant}/flows`, { key: service, body });
const AT = "2026-11-23T12:00:00.000Z";
const valid = { principal: { id: "alice", population: "direct" }, return_to: RETURN };

describe("the flow API refuses bad input with a stable code", () => {
  it.each([
    ["no return_to", { principal: { id: "alice" } }, "request.invalid"],
    ["no principal", { return_to: RETURN }, "request.invalid"],
    ["an unknown field", { ...valid, extra: 1 }, "request.invalid"],
    ["a ttl of 5 seconds", { ...valid, ttl_seconds: 5 }, "request.invalid"],
    ["an impossible step-up", { ...valid, step_up: { minAal: 7 } }, "request.invalid"],
    [
      "an MFA event the platform asserts",
      { ...valid, verified: [{ method: "totp", source: "platform", at: AT }] },
      "request.invalid",
    ],
    [
      "a return URL never registered",
      { ...valid, return_to: "https://evil.example/" },
      "flow.return_to_not_allowed",
    ],
    [
      "a return URL with a look-alike host",
      { ...valid, return_to: "https://app.acme.example.evil.example/signed-in" },
      "flow.return_to_not_allowed",
    ],
  ])("%s", async (_what, body, code) => {
    expect(problem(await create(body))).toMatchObject({
      status: 400,
      code,
      type: expect.stringMatching(/problem\+json/),
    });
  });

  it("answers an unknown tenant with 404, an unregistered principal without a population with 422", async () => {
    expect(problem(await create(valid, "nope"))).toMatchObject({ status: 404, code: "not_found" });
    expect(
      problem(await create({ principal: { id: "stranger" }, return_to: RETURN })),
    ).toMatchObject({ status: 422, code: "principal.unknown" });
  });

  it.each([
    ["no code", {}, "request.invalid"],
    ["a short code", { code: "abc" }, "flow.code_invalid"],
    ["a code nobody issued", { code: "x".repeat(43) }, "flow.code_invalid"],
    ["an overlong code", { code: "x".repeat(5000) }, "request.invalid"],
    ["a code of the wrong type", { code: 42 }, "request.invalid"],
  ])("refuses an exchange with %s", async (_what, body, code) => {
    const response = await t.call("POST", "/v1/flows/exchange", { key: service, body });
    expect(problem(response)).toMatchObject({ status: 400, code });
  });

  it("creates a flow for valid input, answering where to send the browser", async () => {
    const response = await create(valid);
    expect(response.statusCode, response.body).toBe(201);
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(response.json()).toEqual({
      flow: expect.stringMatching(/^flw_[A-Za-z0-9_-]{20,}$/),
      url: expect.stringMatching(/^https:\/\/mfa\.test\/t\/acme\/flows\/flw_/),
      expires_at: new Date(t.clock.now().getTime() + 600_000).toISOString(),
    });
  });
});
