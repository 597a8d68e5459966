/**
 * The JSON Lines audit export streams its answer itself: the route wrapper must not send the
 * reply a second time (Fastify's `FST_ERR_REP_ALREADY_SENT`, a warning with a stack trace on
 * every export, which buries real warnings in operators' logs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { capturedLog } from "../test-support/captured-log.js";

let t: TestServer;
const { logger, lines: logLines } = capturedLog();
beforeAll(async () => {
  t = await openTestServer({ logger: logger });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  for (const id of ["alice", "bob", "carol"])
    await t.call("PUT", `/v1/tenants/acme/principals/${id}`, {
      key: t.adminKey,
      body: { population: "direct" },
    });
});
afterAll(() => t.close());

describe("the JSON Lines audit export", () => {
  it.each([
    ["?format=jsonl", {}],
    ["", { accept: "application/x-ndjson" }],
  ])("answers 200 with every event and logs no warning (%s)", async (query, headers) => {
    const before = logLines.length;
    const response = await t.call("GET", `/v1/tenants/acme/audit${query}`, {
      key: t.adminKey,
      headers: { ...headers },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/x-ndjson/);
    const events = response.body
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { seq: number; type: string });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === "principal.registered")).toHaveLength(3);

    const lines = logLines.slice(before).map((line) => JSON.parse(line) as { level: number });
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "request completed", res: { statusCode: 200 } }),
    );
  });
});
