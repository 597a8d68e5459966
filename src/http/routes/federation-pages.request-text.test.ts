/**
 * Threat: a link (or another site's form) that makes a sign-in page of this origin say what its
 * author wants. The explanation page of a federation endpoint is read by a person on the service's
 * own address, so a sentence it shows from the request ("Your account is locked: call …", "sign in
 * again at https://evil.example") lends the phisher the service's name. The names of a query's or
 * form's fields are the request's own words: a refusal that names them (`request.invalid`, an
 * unknown field) tells a client that asks for JSON which ones, and the person only what went
 * wrong, in the service's words.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const BROWSER = "text/html,application/xhtml+xml";
const PHISH = "Your account is locked. Call +1-555-0100 or sign in at https://evil.example";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: "acme", name: "Acme", returnUrls: ["https://app.acme.example/signed-in"] },
  });
});
afterAll(() => t.close());

/** The text a person reads on the page, its markup and escapes undone. */
const words = (page: LightMyRequestResponse) =>
  page.body
    .replace(/<[^>]*>/g, " ")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");

const field = encodeURIComponent(PHISH);
const REQUESTS = [
  ["a start link with a field of its own", "GET", `/t/acme/idps/corp/start?return_to=x&${field}=1`],
  [
    "a completion link with a field of its own",
    "GET",
    `/t/acme/idps/corp/saml/complete?answer=a&${field}=1`,
  ],
  ["another site's form posted to the ACS", "POST", "/t/acme/idps/corp/saml/acs"],
] as const;

function send(method: "GET" | "POST", url: string, accept: string) {
  return t.server.inject({
    method,
    url,
    headers: {
      accept,
      ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}),
    },
    ...(method === "POST" ? { payload: `SAMLResponse=PHgvPg%3D%3D&${field}=1` } : {}),
  });
}

describe("a federation endpoint's explanation page", () => {
  it.each(REQUESTS)(
    "says nothing that %s wrote, which only a client asking for JSON is told",
    async (_, method, url) => {
      const page = await send(method, url, BROWSER);
      expect(page.statusCode, page.body).toBe(400);
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(page.body).toContain("<code>request.invalid</code>");
      expect(words(page)).toContain("The request is malformed.");
      expect(words(page)).not.toContain("Call +1-555-0100");
      expect(words(page)).not.toContain("evil.example");

      const problem = await send(method, url, "application/problem+json");
      expect(problem.statusCode).toBe(400);
      expect(problem.json<{ errors: unknown[] }>().errors).toContainEqual({
        pointer: expect.stringContaining(PHISH.replaceAll("/", "~1")),
        detail: "unknown field",
      });
    },
  );
});
