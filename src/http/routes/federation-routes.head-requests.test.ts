// Threat: a HEAD request spending what only the browser's GET may. Link checkers, mail scanners
// and prefetchers send HEAD freely, and Fastify answers HEAD on every GET route by running the
// GET handler (its `exposeHeadRoute`). On the federation endpoints that handler changes things: a
// start remembers a sign-in and sets a cookie, the SAML completion claims the answer held for
// the browser, the OIDC callback redeems the code and uses the request. A HEAD there must be
// refused (405 method.not_allowed, a problem document) and change nothing: the held answer and
// the callback stay good for the browser's own GET. Against the real samlify IdP and the real
// oidc-provider peer.
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REFEDS_MFA as OIDC_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import {
  RETURN_URL,
  callback,
  callbackFor,
  createTenant,
  openFederationServer,
  registerPeer,
} from "../test-support/oidc-federation.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

/** A HEAD's answer: the router's refusal of a method the route lacks, and nothing else. */
function expectRefusedHead(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(405);
  expect(response.headers.allow).toBe("GET");
  expect(String(response.headers["content-type"])).toMatch(/^application\/problem\+json/);
  expect(response.headers["set-cookie"]).toBeUndefined();
  expect(response.headers.location).toBeUndefined();
}

/** Where a completed sign-in sent the browser: the return URL with its decision. */
function decisionIn(response: LightMyRequestResponse): string | null {
  const location = new URL(String(must(response, 303).headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(RETURN_URL);
  return location.searchParams.get("decision");
}

describe("HEAD on the SAML endpoints", () => {
  let t: TestServer;
  let idp: TestIdp;
  const start = `/t/acme/idps/corp/start?return_to=${encodeURIComponent(RETURN_URL)}`;
  /** How many sign-ins the store remembers, forgetting them (all expire before the year 9999). */
  const rememberedRequests = () =>
    t.store.transaction((r) => r.federationRequests.purge("9999-12-31T23:59:59.999Z"));

  beforeAll(async () => {
    t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
    idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
    await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN_URL] });
  });
  afterAll(() => t.close());

  it("refuses a HEAD on /start, remembering no sign-in and setting no cookie", async () => {
    await rememberedRequests();
    expectRefusedHead(await t.call("HEAD", start));
    expect(await rememberedRequests()).toBe(0);
    // The GET does remember one: the count above would have seen it.
    must(await t.call("GET", start), 303);
    expect(await rememberedRequests()).toBe(1);
  });

  it("refuses a HEAD on /saml/complete from the sign-in's own browser: its GET still claims the answer", async () => {
    const { acs: answered, cookie } = await answerAtAcs(t, idp, RETURN_URL, {
      nameId: "alice@example.org",
      authnContextClassRef: REFEDS_MFA,
    });
    const acs = must(answered, 303);
    const completion = new URL(String(acs.headers.location));
    expectRefusedHead(
      await t.call("HEAD", `${completion.pathname}${completion.search}`, { headers: { cookie } }),
    );
    expect(decisionIn(await followCompletion(t, acs, cookie))).toMatch(/^dec_/);
  });
});

describe("HEAD on the OIDC callback", () => {
  let peer: OidcProviderPeer;
  let t: TestServer;

  beforeAll(async () => {
    peer = await startOidcProviderPeer();
    t = await openFederationServer(peer);
    await createTenant(t, "acme", "idp_mfa");
    must(await registerPeer(t, t.adminKey, "acme", peer), 201);
  });
  afterAll(async () => {
    await t.close();
    await peer.close();
  });

  it("refuses a HEAD from the sign-in's own browser, redeeming nothing: its GET still completes", async () => {
    peer.nextSignIn = { accountId: "carol", acr: OIDC_MFA, amr: ["pwd", "mfa"] };
    const { path, cookie } = await callbackFor(t, peer);
    expectRefusedHead(await t.call("HEAD", path, { headers: { cookie } }));
    expect(decisionIn(await callback(t, path, cookie))).toMatch(/^dec_/);
  });
});
