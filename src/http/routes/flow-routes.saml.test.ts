// Threat: a hosted flow completed by a SAML answer that proves no MFA, names someone else, or is
// replayed into the flow. The IdP is a real samlify IdP signing real responses; the flow is
// created and exchanged through the HTTP API (DESIGN invariants 3, 7, 9).
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../../app/application.js";
import { openingOf } from "../../app/test-support/flow-opening.js";
import {
  PASSWORD_PROTECTED_TRANSPORT,
  REFEDS_MFA,
  TestIdp,
  type LoginOptions,
} from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { must, registerSamlTenant } from "../test-support/saml-federation.js";

const RETURN_TO = "https://app.acme.example/signed-in";
const ALICE = "alice@example.org";
let browsers = 0;

let t: TestServer;
let idp: TestIdp;
let service: string;
let auditor: string;

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN_TO] });
  must(
    await t.call("PUT", `/v1/tenants/acme/principals/${encodeURIComponent(ALICE)}`, {
      key: t.adminKey,
      body: { population: "sso" },
    }),
    200,
  );
  service = await t.key(["platform_service"], ["acme"]);
  auditor = await t.key(["tenant_auditor"], ["acme"]);
});
afterAll(() => t.close());

/** A new flow for alice, and the IdP's signed answer to the sign-in the flow page starts. */
async function answerFromIdp(login: Partial<LoginOptions> = {}) {
  const created = must(
    await t.call("POST", "/v1/tenants/acme/flows", {
      key: service,
      body: { principal: { id: ALICE }, return_to: RETURN_TO },
    }),
    201,
  );
  const started = created.json<{ flow: string; url: string }>();
  const { flow } = started;
  // A browser of its own: one that completed a flow before would reuse that evidence.
  const browser: FlowBrowser = { cookie: `saml-browser-${String(++browsers)}-0123456789abcdef` };
  const challenge = await t.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
  if (challenge.kind !== "challenge") throw new Error(challenge.kind);
  const toIdp = await t.app.flows.act("acme", flow, browser, {
    kind: "idp",
    idp: "corp",
    csrf: challenge.frame.csrfToken,
  });
  if (toIdp.kind !== "redirect") throw new Error(toIdp.kind);
  const sp = must(await t.call("GET", "/t/acme/idps/corp/saml/metadata"), 200).body;
  const identity = {
    entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
    acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
  };
  const request = await idp.receiveAuthnRequest(sp, toIdp.location);
  const samlResponse = await idp.login(identity, sp, request.id, {
    issuedAt: t.clock.now(),
    nameId: ALICE,
    authnContextClassRef: REFEDS_MFA,
    ...login,
  });
  return {
    flow,
    browser,
    form: { SAMLResponse: samlResponse, RelayState: request.relayState ?? "" },
  };
}

const post = (form: Record<string, string>) =>
  t.call("POST", "/t/acme/idps/corp/saml/acs", {
    body: new URLSearchParams(form).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });

const audit = async (type: string) =>
  must(await t.call("GET", `/v1/tenants/acme/audit?type=${type}`, { key: auditor }), 200).json<{
    items: { payload: Record<string, unknown> }[];
  }>().items;

describe("a hosted flow through the tenant's SAML IdP", () => {
  it("completes with the IdP's signed MFA, and the token verifies with the JWKS", async () => {
    const { flow, browser, form } = await answerFromIdp();
    const back = new URL(String(must(await post(form), 303).headers.location));
    expect(`${back.origin}${back.pathname}`).toBe(`https://mfa.test/t/acme/flows/${flow}`);
    // The flow's browser claims the answer with the id it came back with.
    const answer = back.searchParams.get("answer") ?? "";
    expect(await t.app.flows.show("acme", flow, browser, { answer })).toEqual({
      kind: "redirect",
      location: `https://mfa.test/t/acme/flows/${flow}`,
    });
    const done = await t.app.flows.show("acme", flow, browser);
    if (done.kind !== "redirect") throw new Error(done.kind);
    const code = new URL(done.location).searchParams.get("code");
    const exchanged = must(
      await t.call("POST", "/v1/flows/exchange", { key: service, body: { code } }),
      200,
    ).json<{ token: string }>();
    const jwks = must(await t.call("GET", "/.well-known/jwks.json"), 200).json<JSONWebKeySet>();
    const { payload } = await jwtVerify(exchanged.token, createLocalJWKSet(jwks), {
      issuer: "https://mfa.test",
      currentDate: t.clock.now(),
    });
    expect(payload).toMatchObject({ sub: ALICE, tenant: "acme", aal: 2, acr: REFEDS_MFA });
    // The same signed answer again: refused as a replay, the flow is spent anyway.
    must(await post(form), 400);
  });

  it("keeps challenging when the IdP proves only a password", async () => {
    const { flow, browser, form } = await answerFromIdp({
      authnContextClassRef: PASSWORD_PROTECTED_TRANSPORT,
    });
    must(await post(form), 303);
    expect(await t.app.flows.show("acme", flow, browser)).toMatchObject({
      kind: "challenge",
      options: [{ kind: "idp", idp: "corp" }],
    });
  });

  it("refuses an answer naming someone else and audits why", async () => {
    const before = (await audit("federation.rejected")).length;
    const { flow, browser, form } = await answerFromIdp({ nameId: "mallory@example.org" });
    expect(must(await post(form), 303).headers.location).toBe(
      `https://mfa.test/t/acme/flows/${flow}?notice=idp.rejected`,
    );
    const rejected = await audit("federation.rejected");
    expect(rejected.slice(before).map((e) => e.payload["reason"])).toEqual([
      "federation.subject_mismatch",
    ]);
    expect((await t.app.flows.show("acme", flow, browser)).kind).toBe("challenge");
  });
});
