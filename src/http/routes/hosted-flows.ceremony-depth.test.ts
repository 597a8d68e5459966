// Threat: a WebAuthn ceremony's response posted from a hosted flow page nested thousands of
// levels deep, answered with a 5xx and an error in the log (DESIGN invariant 8), where the JSON
// API refuses the same response as bad input before any route sees it (src/app/json-depth.ts).
// The page's form carries the response as JSON in a field, which only the form's parser reads:
// over HTTP, with the verification threads `serve` checks ceremonies on, whose messages cannot
// clone a value that deep.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../app/json-depth.js";
import {
  createWebAuthnProtocol,
  startVerificationThreads,
} from "../../verifiers/webauthn/index.js";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { capturedLog } from "../test-support/captured-log.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { openFlowPage } from "../test-support/open-flow-page.js";

const ORIGIN = "https://mfa.test";
const RETURN = "https://app.acme.example/signed-in";
const FORM = "application/x-www-form-urlencoded";
const threads = startVerificationThreads({ threads: 1 });
const { logger, lines } = capturedLog();

let t: TestServer;
let service: string;
beforeAll(async () => {
  t = await openTestServer({
    bodyLimitBytes: 256 * 1024,
    logger,
    webauthn: {
      protocol: createWebAuthnProtocol({ verificationThreads: threads }),
      publicUrl: ORIGIN,
    },
  });
  await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: "acme", name: "Acme Corp", returnUrls: [RETURN] },
  });
  const policy = await t.call("PUT", "/v1/tenants/acme/policy", {
    key: t.adminKey,
    headers: { "if-match": '"1"' },
    body: { policy: { posture: "phishing_resistant" }, rationale: "passkeys only" },
  });
  expect(policy.statusCode, policy.body).toBe(200);
  service = await t.key(["platform_service"], ["acme"]);
});
afterAll(async () => {
  await t.close();
  await threads.close();
});

/** A value nested `levels` deep: `[[[…]]]`, a few bytes a level. */
function nested(levels: number): unknown {
  return JSON.parse(`${"[".repeat(levels)}${"]".repeat(levels)}`);
}

/** A flow of `principal` opened in a browser: the page's path, the browser's cookie, CSRF token. */
async function openFlow(principal: string) {
  const created = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: {
      principal: { id: principal, population: "direct" },
      verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
      return_to: RETURN,
    },
  });
  expect(created.statusCode, created.body).toBe(201);
  const started = created.json<{ flow: string; url: string }>();
  const { page, cookie } = await openFlowPage(t.server, started);
  expect(page.statusCode, page.body).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? "";
  return { path: `/t/acme/flows/${started.flow}`, cookie, csrf };
}

/** The ceremony the page's script begins (`/webauthn/options`): its id and options. */
async function begin(
  flow: Awaited<ReturnType<typeof openFlow>>,
  purpose: "registration" | "authentication",
) {
  const answer = await t.server.inject({
    method: "POST",
    url: `${flow.path}/webauthn/options`,
    headers: { "content-type": "application/json", "x-csrf-token": flow.csrf, cookie: flow.cookie },
    payload: JSON.stringify({ purpose }),
  });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json<{ ceremony: string; options: Record<string, unknown> }>();
}

/** Posts the page's WebAuthn form (`action`) with `response` as its script puts it in. */
function post(
  flow: Awaited<ReturnType<typeof openFlow>>,
  action: "register_webauthn" | "verify_webauthn",
  ceremony: string,
  response: unknown,
) {
  return t.server.inject({
    method: "POST",
    url: flow.path,
    headers: { "content-type": FORM, cookie: flow.cookie, origin: ORIGIN },
    payload: new URLSearchParams({
      action,
      csrf: flow.csrf,
      ceremony,
      response: JSON.stringify(response),
    }).toString(),
  });
}

describe("a hosted flow's WebAuthn response nested too deep", () => {
  it("is refused as a bad form, as the JSON API refuses it, and the ceremony still completes; one at the limit is read", async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const alice = await openFlow("alice");
    const registration = await begin(alice, "registration");
    const honest = key.register(registration.options);
    lines.length = 0;
    const deep = await post(alice, "register_webauthn", registration.ceremony, {
      ...honest,
      clientExtensionResults: nested(4000),
    });
    expect(deep.statusCode, deep.body).toBe(400);
    expect(deep.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(deep.body).toContain("<code>flow.bad_request</code>");
    expect(lines.join("")).not.toMatch(/"level":50/);
    // Refused unread: the ceremony was not used up, and the honest response registers the key.
    const registered = await post(alice, "register_webauthn", registration.ceremony, honest);
    expect(registered.statusCode, registered.body).toBe(303);

    const again = await openFlow("alice");
    const authentication = await begin(again, "authentication");
    const assertion = key.authenticate(authentication.options);
    const refused = await post(again, "verify_webauthn", authentication.ceremony, {
      ...assertion,
      response: { ...(assertion["response"] as object), userHandle: nested(4000) },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.body).toContain("<code>flow.bad_request</code>");
    const verified = await post(again, "verify_webauthn", authentication.ceremony, assertion);
    expect(verified.statusCode, verified.body).toBe(303);

    // Up to the JSON API's depth is read: the response's own levels, and an extension result
    // filling the rest of the allowance.
    const bob = await openFlow("bob");
    const bobs = await begin(bob, "registration");
    const full = {
      ...new SoftAuthenticator({ origin: ORIGIN }).register(bobs.options),
      clientExtensionResults: { wrapped: nested(MAX_JSON_DEPTH - 2) },
    };
    expect((await post(bob, "register_webauthn", bobs.ceremony, full)).statusCode).toBe(303);
  });
});
