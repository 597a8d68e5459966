// Threat: flow fixation through the IdP leg. An attacker opens a flow for carol (an SSO user: the
// platform sends no first factor), asks for the IdP, but instead of following the redirect hands
// the authorization URL to carol. Carol signs in at her real IdP, with MFA, in her own browser.
// Her verified answer must not complete the attacker's flow: it counts only once the browser the
// flow belongs to brings back the answer's one-time id, which only carol's browser ever sees.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import type { TestServer } from "../test-support/open-test-server.js";
import {
  RETURN_URL,
  atPeer,
  auditOf,
  createTenant,
  openFederationServer,
  publicUrlOf,
  registerPeer,
  serverPath,
  syncClock,
} from "../test-support/oidc-federation.js";

let peer: OidcProviderPeer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(() => peer.close());

let t: TestServer;
afterEach(() => t.close());

const ATTACKER = `tmfa_browser=${"A".repeat(43)}`;
const VICTIM = `tmfa_browser=${"V".repeat(43)}`;

/**
 * A flow for carol (SSO: no first factor) opened in `browser`, which asks for the IdP; carol
 * then signs in at the IdP (with MFA) in `signsIn`, and the callback answers that browser.
 */
async function carolAtTheIdp(browser: string, signsIn: string) {
  t = await openFederationServer(peer);
  await createTenant(t, "acme", "idp_mfa");
  const admin = await t.key(["tenant_admin"], ["acme"]);
  const service = await t.key(["platform_service"], ["acme"]);
  expect((await registerPeer(t, admin, "acme", peer, { request: { mfa: [] } })).statusCode).toBe(
    201,
  );
  await t.call("PUT", "/v1/tenants/acme/principals/carol", {
    key: admin,
    body: { population: "sso" },
  });
  const created = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: { principal: { id: "carol" }, return_to: RETURN_URL, state: "flow-state" },
  });
  expect(created.statusCode, created.body).toBe(201);
  const started = created.json<{ flow: string; url: string }>();
  const page = `/t/acme/flows/${started.flow}`;
  // The first visit, at the URL the API gave (with the flow's opening secret), binds the flow
  // and sends the browser on to the page's own URL, without the secret.
  const binding = await t.call("GET", serverPath(peer, started.url), {
    headers: { cookie: browser },
  });
  expect(binding.statusCode, binding.body).toBe(303);
  expect(serverPath(peer, String(binding.headers.location))).toBe(page);
  const opened = await t.call("GET", page, { headers: { cookie: browser } });
  expect(opened.statusCode).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(opened.body)?.[1] ?? "";
  syncClock(t);
  const toIdp = await t.server.inject({
    method: "POST",
    url: page,
    headers: {
      cookie: browser,
      origin: new URL(publicUrlOf(peer)).origin,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({ action: "idp", idp: "corp", csrf }).toString(),
  });
  expect(toIdp.statusCode, toIdp.body).toBe(303);
  peer.nextSignIn = { accountId: "carol", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
  const callbackUrl = await atPeer(peer, String(toIdp.headers.location));
  const callback = await t.call("GET", serverPath(peer, callbackUrl), {
    headers: { cookie: signsIn },
  });
  expect(callback.statusCode, callback.body).toBe(303);
  return { page, back: String(callback.headers.location) };
}

describe("the IdP leg of a hosted flow belongs to the flow's browser", () => {
  it("does not let another browser's IdP sign-in complete the attacker's flow", async () => {
    // The attacker opens the flow and forwards the IdP link; carol signs in in HER browser.
    const { page, back } = await carolAtTheIdp(ATTACKER, VICTIM);
    // Back in carol's browser, the answer's id claims nothing: the flow is another browser's.
    expect(new URL(back).searchParams.get("answer")).toMatch(/^[\w-]{32}$/);
    const victimPage = await t.call("GET", serverPath(peer, back), { headers: { cookie: VICTIM } });
    expect(victimPage.statusCode).toBe(403); // "opened in another browser"

    // The attacker's browser reloads the flow page.
    const attackerAgain = await t.call("GET", page, { headers: { cookie: ATTACKER } });
    const location = attackerAgain.headers.location ?? "";
    // Carol's sign-in in another browser hands the attacker no code: the flow still asks.
    expect(location, "attacker's browser received a code for carol").not.toContain("code=");
    expect(attackerAgain.statusCode).toBe(200);
  });

  it("completes the flow when its own browser comes back with the answer, once", async () => {
    const { page, back: location } = await carolAtTheIdp(VICTIM, VICTIM);
    const back = serverPath(peer, location);
    // Before the flow's browser claims it, the answer counts for nothing.
    const early = await t.call("GET", page, { headers: { cookie: VICTIM } });
    expect(early.headers.location ?? "").not.toContain("code=");
    const claimed = await t.call("GET", back, { headers: { cookie: VICTIM } });
    expect([claimed.statusCode, claimed.headers.location]).toEqual([
      303,
      `${publicUrlOf(peer)}${page}`,
    ]);
    const done = await t.call("GET", page, { headers: { cookie: VICTIM } });
    expect(String(done.headers.location)).toMatch(/^https:\/\/app\.acme\.example\/.*code=/);
    // The id is spent: coming back with it again claims nothing more.
    const again = await t.call("GET", back, { headers: { cookie: VICTIM } });
    expect(again.headers.location).not.toBe(`${publicUrlOf(peer)}${page}`);
  });

  it("lets a HEAD from the flow's own browser claim nothing: its GET still does", async () => {
    const { page, back: location } = await carolAtTheIdp(VICTIM, VICTIM);
    const back = serverPath(peer, location);
    // A prefetcher or link checker in carol's browser asks for the page with the answer's id.
    const head = await t.call("HEAD", back, { headers: { cookie: VICTIM } });
    expect([head.statusCode, head.headers.allow]).toEqual([405, "GET, POST"]);
    const claimed = await t.call("GET", back, { headers: { cookie: VICTIM } });
    expect([claimed.statusCode, claimed.headers.location]).toEqual([
      303,
      `${publicUrlOf(peer)}${page}`,
    ]);
    expect(await auditOf(t, t.adminKey, "acme", "flow.verified")).toHaveLength(1);
  });
});
