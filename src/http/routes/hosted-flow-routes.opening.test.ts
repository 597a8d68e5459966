/**
 * Threat: a flow taken before its user opens it by whoever knows its id alone. Every flow audit
 * event names the flow (flow.created is written before any browser opens it), and tenant_auditor
 * and tenant_admin keys read them: such a reader who opened the flow first would bind it to their
 * own browser, block its user's sign-in (flow.other_browser) and, for a principal with no
 * authenticator, enrol a method of their own. The first visit must bring the opening secret the
 * flow's URL carries (`?open=`); without it, or with another, an unbound flow is answered as an
 * unknown one, audited, and stays for its user. Posts and the WebAuthn options fetch never bind.
 * Through the HTTP routes, over the real application.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openingOf, openingPath } from "../../app/test-support/flow-opening.js";
import { browserCookie, setBrowserCookie } from "../test-support/browser-cookie.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const RETURN = "https://app.acme.example/signed-in";
/** The browsers: the flow's user, and a reader of the audit log who learnt the flow's id. */
const USER = browserCookie("U", "__Host-tmfa_browser");
const READER = browserCookie("R", "__Host-tmfa_browser");

let t: TestServer;
let service: string;
let auditor: string;
beforeAll(async () => {
  t = await openTestServer();
  const tenant = await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: "acme", name: "Acme", returnUrls: [RETURN] },
  });
  expect(tenant.statusCode, tenant.body).toBe(201);
  service = await t.key(["platform_service"], ["acme"]);
  auditor = await t.key(["tenant_auditor"], ["acme"]);
});
afterAll(() => t.close());

let principals = 0;

/** A flow for a new principal with no authenticator, whom the platform's password just proved. */
async function newFlow(): Promise<{ flow: string; url: string }> {
  const created = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: {
      principal: { id: `user-${String(++principals)}`, population: "direct" },
      verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
      return_to: RETURN,
    },
  });
  expect(created.statusCode, created.body).toBe(201);
  return created.json<{ flow: string; url: string }>();
}

const get = (url: string, cookie: string) => t.server.inject({ url, headers: { cookie } });

/** A hosted page's answer: its status and the reference code a failure page shows. */
const pageOf = (response: LightMyRequestResponse) => [
  response.statusCode,
  /<code>([a-z_.]+)<\/code>/.exec(response.body)?.[1],
];

/** Whether a browser is bound to the flow, as the store has it. */
const bound = async (flow: string) =>
  (await t.store.read((r) => r.flows.get("acme", flow)))?.browserHash !== undefined;

/** The flow's opening refusals in the tenant's audit log, as an auditor reads them. */
async function openingsRefused(flow: string): Promise<number> {
  const listed = await t.call("GET", "/v1/tenants/acme/audit?type=flow.opening_refused", {
    key: auditor,
  });
  expect(listed.statusCode, listed.body).toBe(200);
  const { items } = listed.json<{ items: { payload: Record<string, unknown> }[] }>();
  return items.filter((e) => e.payload["flow"] === flow).length;
}

describe("a hosted flow's first visit", () => {
  it("answers the creation with the flow's page and a secret of its own", async () => {
    const [first, second] = [await newFlow(), await newFlow()];
    for (const started of [first, second]) {
      const [page, query] = started.url.split("?");
      expect(page).toBe(`https://mfa.test/t/acme/flows/${started.flow}`);
      expect(query).toMatch(/^open=[\w-]{32}$/);
    }
    expect(openingOf(first)).not.toBe(openingOf(second));
  });

  it("finds no flow by its id alone, nor with another secret: audited, the flow left for its user", async () => {
    const started = await newFlow();
    const other = await newFlow();
    const page = `/t/acme/flows/${started.flow}`;
    const secret = openingOf(started);
    const tries = [
      page,
      `${page}?open=`,
      `${page}?open=${"A".repeat(32)}`,
      `${page}?open=${openingOf(other)}`,
      `${page}?open=${secret.slice(0, 31)}`,
      `${page}?open=${secret}x`,
      `${page}?open=${secret}&open=${secret}`,
      `${page}?open[]=${secret}`,
      `${page}?opening=${secret}`,
    ];
    for (const url of tries) {
      expect(pageOf(await get(url, READER)), url).toEqual([404, "flow.not_found"]);
    }
    expect(await bound(started.flow)).toBe(false);
    // Audited as the flow's: the first refusal, the others of its minute counted in no row
    // (flows.refusal-audit-bound.test.ts).
    expect(await openingsRefused(started.flow)).toBe(1);

    // The user, at the URL the API gave, opens the flow; the reader's browser is refused then,
    // even with the secret.
    expect((await get(openingPath(started), USER)).statusCode).toBe(303);
    expect(await bound(started.flow)).toBe(true);
    expect(pageOf(await get(openingPath(started), READER))).toEqual([403, "flow.other_browser"]);
  });

  it("binds the flow to the browser that brings the secret; its later visits need only its cookie", async () => {
    const started = await newFlow();
    const page = `/t/acme/flows/${started.flow}`;
    const first = await get(openingPath(started), USER);
    expect(first.statusCode, first.body).toBe(303);
    expect(await bound(started.flow)).toBe(true);
    // Sent back to the plain URL: the cookie is what counts now, and any open= at all only sends
    // the flow's browser there again.
    expect((await get(page, USER)).statusCode).toBe(200);
    const again = await get(`${page}?open=${"A".repeat(32)}`, USER);
    expect([again.statusCode, again.headers.location]).toEqual([303, `https://mfa.test${page}`]);
    expect(pageOf(await get(page, READER))).toEqual([403, "flow.other_browser"]);
    expect(await openingsRefused(started.flow)).toBe(0);
  });

  // Threat: the opening secret left in the address bar, the history and the page's own Referer
  // after it opened the flow, where it opens nothing more but is still read by whoever sees the
  // screen, the history or a same-origin request's Referer header.
  it("answers the visit that binds with a redirect to the flow's URL without the secret, keeping the rest", async () => {
    const started = await newFlow();
    const page = `/t/acme/flows/${started.flow}`;
    const first = await get(`${page}?lang=fr&open=${openingOf(started)}&x=a%20b`, USER);
    expect(first.statusCode, first.body).toBe(303);
    expect(first.headers.location).toBe(`https://mfa.test${page}?lang=fr&x=a+b`);
    expect(first.headers["cache-control"]).toBe("no-store");
    expect(first.body).toBe("");
    expect(await bound(started.flow)).toBe(true);
    // The redirected visit brings the cookie alone, and gets the flow's page.
    const followed = await get(`${page}?lang=fr&x=a+b`, USER);
    expect(followed.statusCode, followed.body).toBe(200);
    expect(followed.body).toContain(started.flow);
  });

  it("sets the browser's cookie on the redirect of a browser that came without one", async () => {
    const started = await newFlow();
    const first = await t.server.inject({
      url: openingPath(started),
      headers: { "sec-fetch-dest": "document" },
    });
    expect(first.statusCode, first.body).toBe(303);
    const cookie = setBrowserCookie(first);
    expect(cookie).toBeDefined();
    const followed = await get(new URL(String(first.headers.location)).pathname, cookie ?? "");
    expect(followed.statusCode, followed.body).toBe(200);
  });

  it("is never a post nor the WebAuthn options fetch, even with the secret in their URL", async () => {
    const started = await newFlow();
    const page = `/t/acme/flows/${started.flow}`;
    for (const url of [page, openingPath(started)]) {
      const posted = await t.server.inject({
        method: "POST",
        url,
        headers: {
          cookie: READER,
          origin: "https://mfa.test",
          "content-type": "application/x-www-form-urlencoded",
        },
        payload: new URLSearchParams({ action: "enroll_totp", csrf: "x" }).toString(),
      });
      expect(pageOf(posted), posted.body).toEqual([404, "flow.not_found"]);
      const [path, query] = url.split("?");
      const options = await t.server.inject({
        method: "POST",
        url: `${path ?? ""}/webauthn/options${query === undefined ? "" : `?${query}`}`,
        headers: {
          cookie: READER,
          origin: "https://mfa.test",
          "content-type": "application/json",
          "x-csrf-token": "x",
        },
        payload: JSON.stringify({ purpose: "registration" }),
      });
      expect(options.statusCode, options.body).toBe(403);
      expect(options.json<{ code: string }>().code).toBe("flow.unusable");
    }
    expect(await bound(started.flow)).toBe(false);
    // The user still opens it.
    expect((await get(openingPath(started), USER)).statusCode).toBe(303);
  });
});
