/**
 * DESIGN invariant 8 below the router: a request that Node's HTTP parser refuses (an oversized
 * header, a NUL in the path, broken chunked framing, request smuggling's Content-Length beside
 * Transfer-Encoding, an unknown method, garbage) still gets a 4xx problem with a stable code,
 * and the connection is closed. Nothing of the bad request is echoed or logged: its bytes may
 * carry an API key. `inject()` bypasses the parser, so these tests write to a real socket.
 */
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientErrorResponse } from "./build-server.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";
import { capturedLog } from "./test-support/captured-log.js";

const MARKER = "tmfa_marker7f3a";

let t: TestServer;
let port: number;
const { logger, lines: logLines } = capturedLog();
beforeAll(async () => {
  t = await openTestServer({ logger: logger });
  await t.server.listen({ port: 0, host: "127.0.0.1" });
  port = (t.server.server.address() as AddressInfo).port;
});
afterAll(() => t.close());

interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly raw: string;
}

/** Writes `request` as it is, and reads until the server closes the connection. */
function exchange(request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error("the server neither answered nor closed the connection"));
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    // The server closes while unread bytes remain: a reset after the answer is expected.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const raw = Buffer.concat(chunks).toString("latin1");
      const split = raw.indexOf("\r\n\r\n");
      if (split < 0) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(raw)}`));
        return;
      }
      const [statusLine = "", ...fields] = raw.slice(0, split).split("\r\n");
      const headers = Object.fromEntries(
        fields.map((field) => {
          const colon = field.indexOf(":");
          return [field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim()];
        }),
      );
      const body = Buffer.from(raw.slice(split + 4), "latin1").toString("utf8");
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body, raw });
    });
    socket.write(request, "latin1");
  });
}

function expectProblem(response: RawResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers["content-type"]).toBe("application/problem+json");
  expect(response.headers.connection).toBe("close");
  expect(Number(response.headers["content-length"])).toBe(Buffer.byteLength(response.body));
  const problem = JSON.parse(response.body) as Record<string, unknown>;
  expect(problem).toMatchObject({ type: `urn:tenant-mfa:problem:${code}`, status, code });
  expect(String(problem.title).length).toBeGreaterThan(0);
  expect(response.raw).not.toContain(MARKER);
}

describe("requests the HTTP parser refuses", () => {
  it("answers an Expect other than 100-continue with 417 request.expectation_failed, logged", async () => {
    const response = await exchange(
      "GET /v1/tenants HTTP/1.1\r\nHost: localhost\r\n" +
        `Authorization: Bearer ${MARKER}\r\nExpect: 200-ok\r\n\r\n`,
    );
    expectProblem(response, 417, "request.expectation_failed");
    expect(logLines.join("")).toContain('"code":"request.expectation_failed"');
    expect(logLines.join("")).not.toContain(MARKER);
  });

  it("answers a header larger than 16 KB with 431 request.headers_too_large", async () => {
    const response = await exchange(
      "GET /v1/tenants HTTP/1.1\r\nHost: localhost\r\n" +
        `Authorization: Bearer ${MARKER}\r\nX-Padding: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expectProblem(response, 431, "request.headers_too_large");
  });

  it.each([
    ["a raw NUL in the path", `GET /v1/tenants/\0${MARKER} HTTP/1.1\r\nHost: localhost\r\n\r\n`],
    [
      "a malformed chunk size",
      "POST /v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        `Transfer-Encoding: chunked\r\n\r\nzz${MARKER}\r\n{}\r\n0\r\n\r\n`,
    ],
    [
      "Content-Length beside Transfer-Encoding: chunked",
      "POST /v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        `Content-Length: 19\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${MARKER}`,
    ],
    ["an unknown method", `BREW /${MARKER} HTTP/1.1\r\nHost: localhost\r\n\r\n`],
    ["a garbage request line", `\x16\x03\x01 ${MARKER} garbage\r\n\r\n`],
  ])("answers %s with 400 request.invalid and closes", async (_name, request) => {
    const response = await exchange(request);
    expectProblem(response, 400, "request.invalid");
  });

  it("logs the refusal by its parser code, never the request's bytes", async () => {
    const before = logLines.length;
    await exchange(`BREW /${MARKER} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const lines = logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "request refused",
        code: "request.invalid",
        status: 400,
        reason: "HPE_INVALID_METHOD",
      }),
    );
    expect(logLines.join("\n")).not.toContain(MARKER);
  });

  it("still serves well-formed requests on the listening server", async () => {
    const response = await exchange(
      "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    expect(response.status).toBe(200);
  });
});

describe("the raw problem answer", () => {
  it("answers Node's request timeout with 408 request.timeout", () => {
    const answer = clientErrorResponse(
      Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" }),
    );
    const [head = "", body = ""] = answer.split("\r\n\r\n");
    expect(head.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(head).toContain(`\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`);
    expect(JSON.parse(body)).toMatchObject({ status: 408, code: "request.timeout" });
  });
});
