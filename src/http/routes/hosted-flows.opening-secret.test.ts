// Threat: a flow's opening secret in the request log, and an `open` value that the route cannot
// read answered with a 500 (DESIGN invariants 6 and 8). What the secret opens, and what it does
// not, is in hosted-flow-routes.opening.test.ts.
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { capturedLog } from "../test-support/captured-log.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const RETURN = "https://app.acme.example/signed-in";

let t: TestServer;
let service: string;
const { logger, lines } = capturedLog();

beforeAll(async () => {
  t = await openTestServer({ logger });
  await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: "acme", name: "Acme", returnUrls: [RETURN] },
  });
  service = await t.key(["platform_service"], ["acme"]);
});
afterAll(() => t.close());
beforeEach(() => {
  lines.length = 0;
});

/** A new flow as the API answers it: its id, and its URL's path and opening secret. */
async function createFlow(): Promise<{ flow: string; path: string; opening: string }> {
  const response = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: {
      principal: { id: "alice", population: "direct" },
      verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
      return_to: RETURN,
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  const { flow, url } = response.json<{ flow: string; url: string }>();
  const parsed = new URL(url);
  expect(parsed.pathname).toBe(`/t/acme/flows/${flow}`);
  expect([...parsed.searchParams.keys()]).toEqual(["open"]);
  const opening = parsed.searchParams.get("open") ?? "";
  expect(opening).toMatch(/^[A-Za-z0-9_-]{32}$/);
  return { flow, path: parsed.pathname, opening };
}

const visit = (target: string, cookie?: string) =>
  t.server.inject({
    url: target,
    headers: { "sec-fetch-dest": "document", ...(cookie === undefined ? {} : { cookie }) },
  });

function expectNotFoundPage(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(404);
  expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
  expect(response.body).toContain("<code>flow.not_found</code>");
}

describe("a flow's opening secret over HTTP", () => {
  it.each([
    ["an overlong value", "C".repeat(5000)],
    ["NULs", "%00".repeat(32)],
    ["a malformed escape", "%ZZ"],
    ["a value that is no base64url", "%F0%9F%94%91".repeat(8)],
  ])("answers %s with the not-found page, binding nothing", async (_what, value) => {
    const { path, opening } = await createFlow();
    expectNotFoundPage(await visit(`${path}?open=${value}`));
    expect((await visit(`${path}?open=${opening}`)).statusCode).toBe(303);
  });

  it("never logs the secret", async () => {
    const { path, opening } = await createFlow();
    await visit(`${path}?open=${opening}`);
    const logs = lines.join("");
    expect(logs).toContain(`${path}?[redacted]`);
    expect(logs).not.toContain(opening);
  });
});
