/**
 * A body the SAML ACS cannot parse (another media type, too large, a JSON body that does not
 * parse) is refused before any route code runs, by Fastify's body parsers. The ACS answers its
 * other failures as a person sees them, an explanation page with the pages' security headers (a
 * problem document only to a client that asks for JSON): so are these, whatever refused them.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const ACS = "/t/acme/idps/corp/saml/acs";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
});
afterAll(() => t.close());

const post = (
  contentType: string,
  payload: string,
  accept = "text/html,application/xhtml+xml",
): Promise<LightMyRequestResponse> =>
  t.server.inject({
    method: "POST",
    url: ACS,
    headers: { "content-type": contentType, accept },
    payload,
  });

const REFUSED: readonly (readonly [string, string, string, number, string])[] = [
  ["a text/plain body", "text/plain", "SAMLResponse=x", 415, "request.unsupported_media_type"],
  [
    "a multipart body",
    "multipart/form-data; boundary=x",
    "--x--",
    415,
    "request.unsupported_media_type",
  ],
  [
    "a form over the ACS's 1 MiB",
    "application/x-www-form-urlencoded",
    `SAMLResponse=${"A".repeat(1024 * 1024 + 1)}`,
    413,
    "request.too_large",
  ],
  ["a JSON body that does not parse", "application/json", "{", 400, "request.invalid"],
];

describe("the SAML ACS refusing a body it cannot parse", () => {
  it.each(REFUSED)(
    "answers %s with the explanation page",
    async (_, type, payload, status, code) => {
      const page = await post(type, payload);
      expect(page.statusCode, page.body).toBe(status);
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(page.body).toContain(`<code>${code}</code>`);
      expect(page.headers["content-security-policy"]).toBeDefined();
      expect(page.headers["x-content-type-options"]).toBe("nosniff");
    },
  );

  it.each(REFUSED)(
    "answers %s with a problem document to a JSON client",
    async (_, type, payload, status, code) => {
      const problem = await post(type, payload, "application/json");
      expect(problem.statusCode, problem.body).toBe(status);
      expect(problem.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(problem.json<{ code: string }>().code).toBe(code);
    },
  );
});
