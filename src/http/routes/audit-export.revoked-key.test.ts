// Threat: an API key revoked while a JSON Lines export it started is under way. The export reads
// the chain page by page for as long as the client keeps reading (a slow reader holds it open
// through back-pressure), and it read every further page with the caller authenticated when the
// request began: a revoked auditor's key (stolen, or its holder gone) that had started an export
// of a busy tenant's chain kept receiving its new events, decisions and all, for as long as it
// read more slowly than the chain grew. A revocation binds every other request at once; a
// further page of an export is read only while the key still authenticates, and the export's
// last line then says why it stopped, as it does for any refusal met under way.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
let port: number;
beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  for (const id of ["alice", "bob", "carol"])
    await t.call("PUT", `/v1/tenants/acme/principals/${id}`, {
      key: t.adminKey,
      body: { population: "direct" },
    });
  await t.server.listen({ port: 0, host: "127.0.0.1" });
  const address = t.server.server.address();
  if (address === null || typeof address === "string") throw new Error("not listening");
  port = address.port;
});
afterAll(() => t.close());

/** The body of a GET over a real connection (a cut transfer ends it too), and if it completed. */
function get(
  path: string,
  key: string,
): Promise<{ status: number; body: string; completed: boolean }> {
  return new Promise((resolve, reject) => {
    const sent = request(
      { host: "127.0.0.1", port, path, headers: { authorization: `Bearer ${key}` } },
      (response) => {
        let body = "";
        const done = () => {
          resolve({ status: response.statusCode ?? 0, body, completed: response.complete });
        };
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", done);
        response.on("error", done);
      },
    );
    sent.on("error", reject);
    sent.end();
  });
}

describe("a JSON Lines export whose key is revoked once it is under way", () => {
  it("stops before the next page, with a last line saying the key no longer authenticates", async () => {
    const created = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: { name: "acme auditor", roles: ["tenant_auditor"], tenants: ["acme"] },
    });
    const { key, secret } = created.json<{ key: { id: string }; secret: string }>();
    // The key is revoked as soon as the export's first page has been read.
    const list = t.app.audit.list.bind(t.app.audit);
    const spy = vi.spyOn(t.app.audit, "list").mockImplementationOnce(async (...args) => {
      const page = await list(...args);
      const revoked = await t.call("DELETE", `/v1/api-keys/${key.id}`, { key: t.adminKey });
      expect(revoked.statusCode).toBe(204);
      return page;
    });
    try {
      const response = await get("/v1/tenants/acme/audit?format=jsonl&limit=1", secret);
      expect(response.status).toBe(200);
      expect(response.completed).toBe(false);
      const lines = response.body
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      // The first page, read while the key stood; then the refusal, and no event after it.
      expect(lines.slice(0, -1).map((line) => line["seq"])).toEqual([1]);
      expect(lines.at(-1)).toEqual({
        problem: expect.objectContaining({
          status: 401,
          code: "auth.invalid_credentials",
        }) as unknown,
      });
    } finally {
      spy.mockRestore();
    }
    // The same key is refused a new export too, as every request.
    const again = await t.call("GET", "/v1/tenants/acme/audit?format=jsonl", { key: secret });
    expect(again.statusCode).toBe(401);
  });
});
