/**
 * Threat: authorization codes and state in the logs (DESIGN invariant 6), and a callback URL
 * built from what the client wrote. HTTP/1.1 servers must accept a request target in absolute
 * form (`GET http://host/t/…?code=… HTTP/1.1`, RFC 9112 §3.2.2; forward proxies send it), and the
 * router routes it by its path; the router also decodes the path (`/%74/…` reaches `/t/…`). The
 * query of a browser-facing endpoint under `/t/` is never logged, whatever the form of the
 * target, and the OIDC callback URL handed to the verifier is the public URL with the request's
 * path and query, never the client's scheme and authority.
 */
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";
import { capturedLog } from "./test-support/captured-log.js";
import { requestTarget } from "./request-target.js";

const CODE = "authz-code-that-must-never-be-logged";
const STATE = "state-that-must-never-be-logged";
const CALLBACK = "/t/acme/idps/corp/oidc/callback";

let t: TestServer;
let port: number;
const { logger, lines } = capturedLog();
beforeAll(async () => {
  t = await openTestServer({ logger });
  await t.server.listen({ port: 0, host: "127.0.0.1" });
  port = (t.server.server.address() as AddressInfo).port;
});
afterAll(() => t.close());
beforeEach(() => {
  lines.length = 0;
});

function rawRequest(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error("no answer"));
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.write(request, "latin1");
  });
}

/** Sends a GET of `target` to the listening server and returns the log lines it wrote. */
async function logsOf(target: string): Promise<string> {
  const answer = await rawRequest(
    `GET ${target} HTTP/1.1\r\nHost: mfa.test\r\nConnection: close\r\n\r\n`,
  );
  expect(answer).toMatch(/^HTTP\/1\.1 \d{3}/);
  // The completion line is written after the response.
  await vi.waitFor(() => {
    expect(lines.join("")).toContain("request completed");
  });
  return lines.join("");
}

describe("request logging of the federation endpoints", () => {
  for (const [form, target] of [
    ["origin form", `${CALLBACK}?code=${CODE}&state=${STATE}`],
    ["absolute form", `http://mfa.test${CALLBACK}?code=${CODE}&state=${STATE}`],
    ["absolute form, other host", `https://evil.test:8443${CALLBACK}?code=${CODE}&state=${STATE}`],
    ["a percent-encoded path", `/%74/acme/idps/corp/oidc/callback?code=${CODE}&state=${STATE}`],
    ["a doubled first slash", `/${CALLBACK}?code=${CODE}&state=${STATE}`],
    ["a backslash after the first slash", `/\\${CALLBACK.slice(1)}?code=${CODE}&state=${STATE}`],
  ] as const) {
    it(`never logs the query of a federation endpoint requested in ${form}`, async () => {
      const logs = await logsOf(target);
      expect(logs).not.toContain(CODE);
      expect(logs).not.toContain(STATE);
      expect(logs).toContain("?[redacted]");
    });
  }

  it("routes an absolute-form target as its path, logged without scheme or authority", async () => {
    const logs = await logsOf(`http://mfa.test${CALLBACK}?code=${CODE}&state=${STATE}`);
    expect(logs).toContain(`"url":"${CALLBACK}?[redacted]"`);
    const metrics = await t.call("GET", "/metrics");
    expect(metrics.body).toContain('route="/t/:tenant/idps/:idp/oidc/callback"');
  });

  it("logs the path the client sent, never one read as a host from a doubled slash", async () => {
    const logs = await logsOf(`/${CALLBACK}?code=${CODE}&state=${STATE}`);
    expect(logs).toContain(`"url":"/${CALLBACK}?[redacted]"`);
  });

  it("still logs the query of an API route, when the route declares its parameters", async () => {
    const logs = await logsOf("http://mfa.test/v1/platform/audit?limit=5");
    expect(logs).toContain('"url":"/v1/platform/audit?limit=5"');
  });
});

describe("the OIDC callback URL given to the verifier", () => {
  it("is the public URL with the path and query, whatever the form of the target", async () => {
    const oidcCallback = vi.spyOn(t.app.federation, "oidcCallback");
    try {
      for (const target of [
        `${CALLBACK}?code=${CODE}&state=${STATE}`,
        `http://mfa.test${CALLBACK}?code=${CODE}&state=${STATE}`,
        `https://evil.test${CALLBACK}?code=${CODE}&state=${STATE}`,
      ]) {
        await rawRequest(`GET ${target} HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n`);
      }
      expect(oidcCallback.mock.calls.map(([, , input]) => input.callbackUrl)).toEqual(
        Array.from({ length: 3 }, () => `https://mfa.test${CALLBACK}?code=${CODE}&state=${STATE}`),
      );
    } finally {
      oidcCallback.mockRestore();
    }
  });
});

describe("requestTarget", () => {
  it("keeps the path and query of every form of target, and never throws", () => {
    expect(
      [
        "/t/a/idps/b/oidc/callback?code=1",
        "http://h/t/a?code=1",
        "HTTPS://user:pw@h:1/t/a?code=1",
        "http://h?code=1",
        "/t/a#fragment?code=1",
        "*",
        "http://",
        "//t/a?code=1",
        "/\\t/a?code=1",
      ].map(requestTarget),
    ).toEqual([
      { path: "/t/a/idps/b/oidc/callback", search: "?code=1" },
      { path: "/t/a", search: "?code=1" },
      { path: "/t/a", search: "?code=1" },
      { path: "/", search: "?code=1" },
      { path: "/t/a", search: "" },
      { path: "/*", search: "" },
      { path: "http://", search: "" },
      // An origin-form target is a path, even one that begins like a scheme-relative URL.
      { path: "//t/a", search: "?code=1" },
      { path: "//t/a", search: "?code=1" },
    ]);
  });
});
