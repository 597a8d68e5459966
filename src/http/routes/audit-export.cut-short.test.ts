// Threat: a JSON Lines export of an audit chain that meets, once under way, an event whose
// stored text is not JSON (the chain altered outside the service). The transfer was cut short
// with nothing said to the client: over HTTP/1.1 the missing last chunk shows (curl exits 18),
// but over HTTP/1.0, which has no chunks (as many proxies still speak to the service), a cut
// connection is how a complete answer ends: the auditor got a truncated export that looked
// complete, exit code 0. The export's last line now says what stopped it (a `problem` line
// naming the event, which no event line has), sent before the transfer is cut, so that the file
// itself says it is incomplete, whatever the protocol in between.
import Database from "better-sqlite3";
import { request } from "node:http";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-cut-export-")), "store.db");
let t: TestServer;
let port: number;
const path = "/v1/tenants/acme/audit?format=jsonl&limit=2";

beforeAll(async () => {
  t = await openTestServer({ store: await openStore(`sqlite:${file}`) });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  for (const id of ["alice", "bob", "carol", "dave"]) {
    await t.call("PUT", `/v1/tenants/acme/principals/${id}`, {
      key: t.adminKey,
      body: { population: "direct" },
    });
  }
  const db = new Database(file);
  db.exec("UPDATE audit_events SET payload = 'not json' WHERE chain = 'tenant:acme' AND seq = 3");
  db.close();
  await t.server.listen({ port: 0, host: "127.0.0.1" });
  const address = t.server.server.address();
  if (address === null || typeof address === "string") throw new Error("not listening");
  port = address.port;
});
afterAll(() => t.close());

/** Checks that `body` holds events 1 and 2, then a last line saying that event 3 stopped it. */
function expectStoppedAtEvent3(body: string): void {
  const lines = body
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines.slice(0, -1).map((line) => line["seq"])).toEqual([1, 2]);
  expect(lines.at(-1)).toEqual({
    problem: expect.objectContaining({
      status: 500,
      code: "audit.chain_damaged",
      detail: expect.stringContaining("Event 3 of tenant:acme") as unknown,
      details: { chain: "tenant:acme", seq: 3 },
    }) as unknown,
  });
  expect(body.endsWith("\n")).toBe(true);
}

describe("a JSON Lines export that meets a damaged event once under way", () => {
  it("ends, over HTTP/1.0, with a line naming the event, not as a complete export", async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(
          `GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t.adminKey}\r\n\r\n`,
        );
      });
      let received = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (received += chunk));
      socket.on("end", () => {
        resolve(received);
      });
      socket.on("error", reject);
    });
    const [head = "", body = ""] = raw.split("\r\n\r\n", 2);
    expect(head).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(head.toLowerCase()).not.toContain("transfer-encoding: chunked");
    expectStoppedAtEvent3(body);
  });

  it("ends, over HTTP/1.1, with a line naming the event, and the transfer cut short", async () => {
    const { body, completed } = await new Promise<{ body: string; completed: boolean }>(
      (resolve, reject) => {
        const sent = request(
          { host: "127.0.0.1", port, path, headers: { authorization: `Bearer ${t.adminKey}` } },
          (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => {
              resolve({ body, completed: response.complete });
            });
            response.on("error", () => {
              resolve({ body, completed: response.complete });
            });
          },
        );
        sent.on("error", reject);
        sent.end();
      },
    );
    expect(completed).toBe(false);
    expectStoppedAtEvent3(body);
  });
});
