/**
 * Threat: a JSON body read in another encoding than the one its sender wrote it in. JSON between
 * systems is UTF-8 (RFC 8259 §8.1), and the server reads every body as UTF-8; a body declared in
 * another charset (`utf-16`, `latin1`) would be read as something its sender did not mean (names
 * turned into U+FFFD, or a UTF-16 body read as garbage that happens to parse). Such a body is
 * refused, 415 request.unsupported_media_type, before any route sees it; a body that declares
 * UTF-8, in any spelling HTTP allows, or no charset at all, is read.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
});
afterAll(() => t.close());

let made = 0;
async function createTenant(
  contentType: string,
  encode: (text: string) => Buffer = (text) => Buffer.from(text, "utf8"),
): Promise<{ response: LightMyRequestResponse; id: string }> {
  made += 1;
  const id = `t${String(made)}`;
  const response = await t.server.inject({
    method: "POST",
    url: "/v1/tenants",
    payload: encode(JSON.stringify({ id, name: "Société Générale" })),
    headers: { authorization: `Bearer ${t.adminKey}`, "content-type": contentType },
  });
  return { response, id };
}

async function tenantExists(id: string): Promise<boolean> {
  return (await t.call("GET", `/v1/tenants/${id}`, { key: t.adminKey })).statusCode === 200;
}

describe("the charset of a JSON body", () => {
  it("refuses a body declared in any charset but UTF-8, however it is spelled", async () => {
    const cases: [string, (text: string) => Buffer][] = [
      ["application/json; charset=latin1", (text) => Buffer.from(text, "latin1")],
      ["application/json; charset=ISO-8859-1", (text) => Buffer.from(text, "latin1")],
      ['application/json; charset="latin1"', (text) => Buffer.from(text, "latin1")],
      ["application/json; charset=utf-16", (text) => Buffer.from(`\ufeff${text}`, "utf16le")],
      ["application/json;charset=UTF-16LE", (text) => Buffer.from(text, "utf16le")],
      ["application/json; CHARSET=utf-16le", (text) => Buffer.from(text, "utf16le")],
      ["application/json; charset=us-ascii", (text) => Buffer.from(text, "ascii")],
      ["application/json; charset=utf-8; charset=latin1", (text) => Buffer.from(text, "latin1")],
      ['application/json; charset="utf-8x"', (text) => Buffer.from(text, "utf8")],
      ["application/json; charset=", (text) => Buffer.from(text, "utf8")],
    ];
    for (const [contentType, encode] of cases) {
      const { response, id } = await createTenant(contentType, encode);
      expect(response.statusCode, contentType).toBe(415);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const problem = response.json<{ code: string; detail: string }>();
      expect(problem.code, contentType).toBe("request.unsupported_media_type");
      expect(problem.detail).toContain("UTF-8");
      expect(await tenantExists(id), contentType).toBe(false);
    }
  });

  it("reads a body declared as UTF-8 in any spelling, or with no charset", async () => {
    for (const contentType of [
      "application/json",
      "application/json; charset=utf-8",
      "application/json; charset=UTF-8",
      "application/json;charset=Utf-8",
      'application/json; charset="utf-8"',
      'application/json; CHARSET="UTF-8"',
      "application/json ; charset=utf-8 ",
      "application/json; version=1; charset=utf-8",
      'application/json; note="a;charset=latin1"; charset=utf-8',
      // The WHATWG Encoding Standard's other labels of UTF-8, which browsers and some clients send.
      "application/json; charset=utf8",
      "application/json; charset=UTF8",
      "application/json; charset=unicode-1-1-utf-8",
    ]) {
      const { response, id } = await createTenant(contentType);
      expect(response.statusCode, contentType).toBe(201);
      const tenant = await t.call("GET", `/v1/tenants/${id}`, { key: t.adminKey });
      expect(tenant.json<{ name: string }>().name, contentType).toBe("Société Générale");
    }
  });
});
