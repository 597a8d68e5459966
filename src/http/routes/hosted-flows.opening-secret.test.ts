// Threat: a hosted flow taken by whoever learns its id before its user opens it (the id is in
// every flow audit event, and in the request log's paths). Over HTTP: only the URL the flow API
// answered, with its `open` secret, binds the flow to a browser; the secret never reaches the log;
// and an `open` value of any shape is a failure page, never a 500 (DESIGN invariants 6 and 8).
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

/** The browser cookie a page set, as the browser sends it back. */
function cookieOf(response: LightMyRequestResponse): string {
  const header = response.headers["set-cookie"];
  const first = Array.isArray(header) ? header[0] : header;
  if (first === undefined) throw new Error("no cookie set");
  return first.split(";")[0] ?? "";
}

function expectNotFoundPage(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(404);
  expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
  expect(response.body).toContain("<code>flow.not_found</code>");
}

describe("a flow's opening secret over HTTP", () => {
  it("binds the flow only for the URL with the secret; the bare path leaves it to its user", async () => {
    const { path, opening } = await createFlow();
    const bare = await visit(path);
    expectNotFoundPage(bare);
    // The would-be taker got a cookie, as every visitor does, but the flow is not bound to it.
    const takerCookie = cookieOf(bare);
    expectNotFoundPage(await visit(path, takerCookie));

    const opened = await visit(`${path}?open=${opening}`);
    expect(opened.statusCode).toBe(200);
    const userCookie = cookieOf(opened);
    // Then the user's cookie alone, at the bare path; the taker is another browser.
    expect((await visit(path, userCookie)).statusCode).toBe(200);
    const taker = await visit(`${path}?open=${opening}`, takerCookie);
    expect(taker.statusCode).toBe(403);
    expect(taker.body).toContain("<code>flow.other_browser</code>");
  });

  it.each([
    ["a wrong secret", "B".repeat(32)],
    ["a secret one character short", "open-me"],
    ["an overlong value", "C".repeat(5000)],
    ["a NUL", "%00".repeat(32)],
    ["two values", "x&open=y"],
    ["an empty value", ""],
    ["a malformed escape", "%ZZ"],
  ])("answers %s with the not-found page, binding nothing", async (_what, value) => {
    const { path, opening } = await createFlow();
    expectNotFoundPage(await visit(`${path}?open=${value}`));
    expect((await visit(`${path}?open=${opening}`)).statusCode).toBe(200);
  });

  it("never logs the secret", async () => {
    const { path, opening } = await createFlow();
    await visit(`${path}?open=${opening}`);
    const logs = lines.join("");
    expect(logs).toContain(`${path}?[redacted]`);
    expect(logs).not.toContain(opening);
  });
});
