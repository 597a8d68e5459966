// Threat: whoever holds one factor of a principal that has an authenticator adds one of their own
// in a hosted flow, then signs in as them with MFA (account takeover). A password-only sign-in at
// the tenant's IdP is one factor, like the platform's password: it must not open enrolment, on
// any posture, for TOTP or a passkey; MFA proven at the IdP does. Against the real oidc-provider.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../../app/application.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { openingOf } from "../../app/test-support/flow-opening.js";
import type { Posture } from "../../core/vocabulary.js";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { TestServer } from "../test-support/open-test-server.js";
import {
  RETURN_URL,
  atPeer,
  createTenant,
  openFederationServer,
  registerPeer,
  serverPath,
  syncClock,
} from "../test-support/oidc-federation.js";

let peer: OidcProviderPeer;
let t: TestServer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(() => peer.close());
afterEach(() => t.close());

const browser: FlowBrowser = { cookie: "browser-cookie-0123456789abcdef0123" };

/** carol (sso) of `posture`'s tenant, with a confirmed TOTP of her own, and a flow for her. */
async function carolsFlow(posture: Posture) {
  t = await openFederationServer(peer);
  await createTenant(t, "acme", posture);
  const admin = await t.key(["tenant_admin"], ["acme"]);
  const service = await t.key(["platform_service"], ["acme"]);
  // The tenant asks its IdP for no context, so that the IdP answers with what the user did
  // rather than refusing a password-only sign-in itself: the flow must judge it.
  const asksNothing = { request: { mfa: [] } };
  expect((await registerPeer(t, admin, "acme", peer, asksNothing)).statusCode).toBe(201);
  const registered = await t.call("PUT", "/v1/tenants/acme/principals/carol", {
    key: admin,
    body: { population: "sso" },
  });
  expect(registered.statusCode).toBe(200);
  const base = "/v1/tenants/acme/principals/carol/authenticators";
  const begun = await t.call("POST", `${base}/totp`, { key: service, body: {} });
  const { authenticator, secret } = begun.json<{ authenticator: { id: string }; secret: string }>();
  const confirmed = await t.call("POST", `${base}/${authenticator.id}/confirm`, {
    key: service,
    body: { code: oathtoolCode(secret, t.clock.now()) },
  });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  const created = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: { principal: { id: "carol" }, return_to: RETURN_URL, state: "s1" },
  });
  expect(created.statusCode, created.body).toBe(201);
  const started = created.json<{ flow: string; url: string }>();
  const flow = started.flow;
  const first = await t.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
  if (!("frame" in first)) throw new Error(`unexpected first screen ${first.kind}`);
  return { flow, csrf: first.frame.csrfToken };
}

/** Signs in at the IdP from the flow, as the peer's next sign-in says, and comes back. */
async function signInAtIdp(
  flow: string,
  csrf: string,
  signIn: { readonly acr?: string; readonly amr: readonly string[] },
) {
  peer.nextSignIn = { accountId: "carol", ...signIn };
  syncClock(t);
  const toIdp = await t.app.flows.act("acme", flow, browser, { kind: "idp", idp: "corp", csrf });
  if (toIdp.kind !== "redirect") throw new Error(`expected a redirect, got ${toIdp.kind}`);
  const back = await t.call("GET", serverPath(peer, await atPeer(peer, toIdp.location)));
  expect(back.statusCode, back.body).toBe(303);
  // The flow's browser comes back with the answer's id and claims it.
  const answer = new URL(String(back.headers.location)).searchParams.get("answer") ?? "";
  expect((await t.app.flows.show("acme", flow, browser, { answer })).kind).toBe("redirect");
  // The IdP's answer is the flow's evidence now: what follows is judged on it.
  const events = (await t.store.read((r) => r.flows.get("acme", flow)))?.events ?? [];
  expect(events.map((e) => e.method)).toEqual(["federated"]);
}

const refused = (screen: FlowScreen) =>
  "notice" in screen ? screen.notice?.code : `no notice on ${screen.kind}`;

describe("enrolment in a flow after a sign-in at the IdP", () => {
  it("refuses a new TOTP or passkey after a password-only IdP sign-in", async () => {
    const { flow, csrf } = await carolsFlow("idp_or_platform");
    await signInAtIdp(flow, csrf, { amr: ["pwd"] });
    const totp = await t.app.flows.act("acme", flow, browser, { kind: "enroll_totp", csrf });
    expect(totp.kind).not.toBe("enroll_totp");
    expect(refused(totp)).toBe("enrolment.not_allowed");
    const passkey = await t.app.flows.act("acme", flow, browser, {
      kind: "enroll_webauthn",
      csrf,
    });
    expect(passkey.kind).not.toBe("enroll_webauthn");
    expect(refused(passkey)).toBe("enrolment.not_allowed");
    const listed = await t.call("GET", "/v1/tenants/acme/principals/carol/authenticators", {
      key: t.adminKey,
    });
    expect(listed.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it("goes to no IdP the decision does not ask for (platform_mfa), whatever the form says", async () => {
    const { flow, csrf } = await carolsFlow("platform_mfa");
    const first = await t.app.flows.show("acme", flow, browser);
    expect("options" in first && first.options.some((o) => o.kind === "idp")).toBe(false);
    const toIdp = await t.app.flows.act("acme", flow, browser, { kind: "idp", idp: "corp", csrf });
    expect(toIdp.kind).not.toBe("redirect");
    expect(refused(toIdp)).toBe("idp.rejected");
    const started = await t.store.read((r) =>
      r.audit.read("tenant:acme", { afterSeq: 0, limit: 1000 }),
    );
    expect(started.map((e) => e.type)).not.toContain("flow.idp_started");
  });

  it("opens it on MFA at the IdP neither: that proves none of her own authenticators", async () => {
    const { flow, csrf } = await carolsFlow("idp_or_platform");
    await signInAtIdp(flow, csrf, { acr: REFEDS_MFA, amr: ["pwd", "otp", "mfa"] });
    const totp = await t.app.flows.act("acme", flow, browser, { kind: "enroll_totp", csrf });
    expect(totp.kind).not.toBe("enroll_totp");
    const listed = await t.call("GET", "/v1/tenants/acme/principals/carol/authenticators", {
      key: t.adminKey,
    });
    expect(listed.json<{ items: unknown[] }>().items).toHaveLength(1);
  });
});
