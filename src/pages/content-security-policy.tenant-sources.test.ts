// Threat: a tenant administrator widening or rewriting the Content Security Policy of the hosted
// pages through the URLs it configures. WHATWG URL parsing keeps `;`, `,`, `*` and quotes in a
// host name (`https://cdn.example;sandbox/logo.svg` parses, its origin holding the `;`), so an
// origin taken from a tenant's logo or return URL could end its directive and add another,
// start a second policy (`,`), or, as `https://*`, let images load and forms post anywhere.
// Only host names a CSP host-source can hold (letters, digits, hyphens, dots; IP addresses) may
// become sources; anything else is left out, and a logo under such a host is not shown.
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openingPath } from "../app/test-support/flow-opening.js";
import { openTestServer, type TestServer } from "../http/test-support/open-test-server.js";
import { contentSecurityPolicy } from "./content-security-policy.js";
import { renderFlowScreen, type PageScreen } from "./render-flow-screen.js";
import { FRAME, sampleScreens } from "./test-support/sample-screens.js";

const screens = await sampleScreens();

/** The directives' names, in order, as a browser splits the header (RFC 9110 list, then `;`). */
const directiveNames = (policy: string) =>
  policy
    .split(",")
    .flatMap((one) => one.split(";"))
    .map((directive) => directive.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name !== "");

const EXPECTED_DIRECTIVES = [
  "default-src",
  "script-src",
  "style-src",
  "img-src",
  "connect-src",
  "form-action",
  "frame-ancestors",
  "base-uri",
];

const HOSTILE_HOSTS = [
  "https://cdn.acme.example;sandbox/logo.svg",
  "https://cdn.acme.example;script-src-attr/logo.svg",
  "https://*/logo.svg",
  "https://*.example/logo.svg",
  "https://a,frame-ancestors/logo.svg",
  "https://it's.example/logo.svg",
];

describe("the hosted pages' policy, whatever URLs the tenant configured", () => {
  it.each(HOSTILE_HOSTS)("keeps its eight directives and no wildcard with %s", (url) => {
    const policy = contentSecurityPolicy({ logoUrl: url, formTargets: [url] });
    expect(directiveNames(policy)).toEqual(EXPECTED_DIRECTIVES);
    expect(policy).not.toMatch(/[*,]/);
    expect(policy).toContain("img-src 'self' data:;");
    expect(policy).toContain("form-action 'self';");
  });

  it("still takes the origins of ordinary host names, IP addresses and IDNs", () => {
    const policy = contentSecurityPolicy({
      logoUrl: "https://cdn-1.acme.example/logo.svg",
      formTargets: [
        "https://app.example.com/mfa/return",
        "http://127.0.0.1:8081/return",
        "http://[::1]:8081/return",
        "https://bücher.example/return",
      ],
    });
    expect(policy).toContain("img-src 'self' data: https://cdn-1.acme.example;");
    expect(policy).toContain(
      "form-action 'self' https://app.example.com http://127.0.0.1:8081 http://[::1]:8081 https://xn--bcher-kva.example;",
    );
  });

  it("does not show a logo whose host it would not allow", () => {
    const page = renderFlowScreen({
      ...screens["challenge"]!,
      frame: {
        ...FRAME,
        tenant: { ...FRAME.tenant, logoUrl: "https://cdn.acme.example;sandbox/logo.svg" },
      },
    } as PageScreen);
    expect(page.html).not.toContain("<img");
    expect(directiveNames(page.contentSecurityPolicy)).toEqual(EXPECTED_DIRECTIVES);
  });
});

describe("a flow page served by the real server", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await openTestServer();
    await t.server.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(() => t.close());

  it("refuses a logo or a return URL with a wildcard or a `;` host from the tenant's administrator", async () => {
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
    const admin = await t.key(["tenant_admin"], ["acme"]);
    for (const logoUrl of [
      "https://cdn.acme.example;sandbox/logo.svg",
      "https://*/logo.svg",
      "https://cdn.acme.example,x/logo.svg",
    ]) {
      const branding = await t.call("PUT", "/v1/tenants/acme/branding", {
        key: admin,
        body: { logoUrl },
      });
      expect(branding.statusCode, logoUrl).toBe(400);
      expect(branding.json()).toMatchObject({ code: "request.invalid" });
    }
    for (const returnUrl of ["https://*/signed-in", "https://app.acme.example;sandbox/in"]) {
      const returnUrls = await t.call("PUT", "/v1/tenants/acme/return-urls", {
        key: admin,
        body: { returnUrls: [returnUrl] },
      });
      expect(returnUrls.statusCode, returnUrl).toBe(400);
      expect(returnUrls.json()).toMatchObject({ code: "request.invalid" });
    }

    // The page of a flow keeps the policy's directives, and shows no logo.
    const registered = await t.call("PUT", "/v1/tenants/acme/return-urls", {
      key: admin,
      body: { returnUrls: ["https://app.acme.example/signed-in"] },
    });
    expect(registered.statusCode).toBe(200);
    const service = await t.key(["platform_service"], ["acme"]);
    const created = await t.call("POST", "/v1/tenants/acme/flows", {
      key: service,
      body: {
        principal: { id: "dana", population: "direct" },
        return_to: "https://app.acme.example/signed-in",
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { port } = t.server.server.address() as AddressInfo;
    const origin = `http://127.0.0.1:${String(port)}`;
    // The URL the API gave (path and opening secret), on the server's own address: it binds the
    // flow and sends the browser on to the page's own URL, visited with the cookie it set.
    const opened = await fetch(`${origin}${openingPath(created.json<{ url: string }>())}`, {
      redirect: "manual",
    });
    expect(opened.status).toBe(303);
    const cookie = (opened.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const { pathname } = new URL(opened.headers.get("location") ?? "");
    const page = await fetch(`${origin}${pathname}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const policy = page.headers.get("content-security-policy") ?? "";
    expect(directiveNames(policy)).toEqual(EXPECTED_DIRECTIVES);
    expect(policy).not.toMatch(/[*,]/);
    expect(await page.text()).not.toContain("<img");
  });
});
