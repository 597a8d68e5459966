// Threats: an IdP's answer counted without being verified, replayed, sent to another tenant, or
// naming someone else (DESIGN invariants 3, 7, 9); a redirect to a URL the tenant never
// registered (invariant 10). SAML sign-in end to end through the HTTP server, against a real
// samlify IdP that signs real responses; the server's clock is the IdP's.
import { inflateRawSync } from "node:zlib";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent, ReceiptRecord } from "../../app/records.js";
import {
  PASSWORD_PROTECTED_TRANSPORT,
  REFEDS_MFA,
  TestIdp,
  type LoginOptions,
  type ResponseShapeOptions,
} from "../../verifiers/saml/test-support/test-idp.js";
import { signWithReferences } from "../../verifiers/saml/test-support/sign.js";
import {
  assertionOf,
  ATTACKER,
  decode,
  encode,
  noAuthnContext,
  impersonate,
  responseOf,
  signatureOf,
  tamper,
  XSW_REJECTIONS,
  XSW_VARIANTS,
} from "../../verifiers/saml/test-support/tamper.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import { followCompletion, must, registerSamlTenant } from "../test-support/saml-federation.js";

const RETURN_TO = "https://app.acme.example/signed-in";
const ALICE = "alice@example.org";
/** The browser every sign-in here is started and completed in (its cookie). */
const BROWSER = browserCookie("B", "__Host-tmfa_browser");

let t: TestServer;
let idp: TestIdp;
let auditor: string;

/** The SP as the IdP's administrator sees it: the metadata document the server publishes. */
async function spOf(tenant: string) {
  const metadata = must(await t.call("GET", `/t/${tenant}/idps/corp/saml/metadata`), 200);
  return {
    metadata: metadata.body,
    identity: {
      entityId: `https://mfa.test/t/${tenant}/idps/corp/saml/metadata`,
      acsUrl: `https://mfa.test/t/${tenant}/idps/corp/saml/acs`,
    },
  };
}

/** Starts a sign-in and lets the IdP answer it; returns the form the browser would post. */
async function signIn(
  tenant: string,
  login: Partial<LoginOptions> = {},
  query = `return_to=${encodeURIComponent(`https://app.${tenant}.example/signed-in`)}&principal=${encodeURIComponent(ALICE)}`,
) {
  const started = must(
    await t.call("GET", `/t/${tenant}/idps/corp/start?${query}`, {
      headers: { cookie: BROWSER },
    }),
    303,
  );
  const location = started.headers.location as string;
  const sp = await spOf(tenant);
  const request = await idp.receiveAuthnRequest(sp.metadata, location);
  const samlResponse = await idp.login(sp.identity, sp.metadata, request.id, {
    issuedAt: t.clock.now(),
    nameId: ALICE,
    ...login,
  });
  return { location, request, samlResponse, relayState: request.relayState ?? "" };
}

/**
 * The IdP's page posts the answer to the ACS (across sites: without the browser's cookie), and
 * the browser follows the ACS's redirect to the completion with its cookie, as a browser does.
 */
async function post(
  tenant: string,
  form: { samlResponse: string; relayState?: string },
  accept?: string,
  idpId = "corp",
) {
  const body = new URLSearchParams({ SAMLResponse: form.samlResponse });
  if (form.relayState !== undefined) body.set("RelayState", form.relayState);
  const headers = accept === undefined ? {} : { accept };
  const acs = await t.call("POST", `/t/${tenant}/idps/${idpId}/saml/acs`, {
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
  return followCompletion(t, acs, BROWSER, headers);
}

async function receiptOf(response: LightMyRequestResponse) {
  const location = new URL(must(response, 303).headers.location as string);
  const id = location.searchParams.get("decision") ?? "";
  const receipt = must(await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey }), 200);
  return { location, receipt: receipt.json<ReceiptRecord>() };
}

async function audit(tenant: string, type: string): Promise<AuditEvent[]> {
  const response = await t.call("GET", `/v1/tenants/${tenant}/audit?type=${type}`, {
    key: auditor,
  });
  return must(response, 200).json<{ items: AuditEvent[] }>().items;
}

/** The AuthnRequest a start sends (HTTP-Redirect binding: raw DEFLATE, then base64). */
function authnRequestOf(location: string): string {
  const encoded = new URL(location).searchParams.get("SAMLRequest");
  if (encoded === null) throw new Error(`no SAMLRequest in ${location}`);
  return inflateRawSync(Buffer.from(encoded, "base64")).toString("utf8");
}

/** Starts a sign-in without a principal hint and returns the AuthnRequest sent to the IdP. */
async function startedRequest(tenant: string, extraQuery = ""): Promise<string> {
  const returnTo = encodeURIComponent(`https://app.${tenant}.example/signed-in`);
  const started = must(
    await t.call("GET", `/t/${tenant}/idps/corp/start?return_to=${returnTo}${extraQuery}`),
    303,
  );
  return authnRequestOf(started.headers.location as string);
}

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  const returnUrls = (tenant: string) => [`https://app.${tenant}.example/signed-in`];
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: returnUrls("acme") });
  await registerSamlTenant(t, idp, "globex", {
    posture: "idp_mfa",
    returnUrls: returnUrls("globex"),
  });
  await registerSamlTenant(t, idp, "initech", {
    posture: "idp_or_platform",
    returnUrls: returnUrls("initech"),
    allowUnsolicited: true,
  });
  await registerSamlTenant(t, idp, "hooli", {
    posture: "idp_mfa",
    returnUrls: returnUrls("hooli"),
    require: { maxAgeSeconds: 300 },
  });
  auditor = await t.key(["tenant_auditor"], ["acme", "globex", "initech", "hooli"]);
});

afterAll(async () => {
  await t.close();
});

describe("SAML sign-in at the organisation's IdP", () => {
  it("asks for REFEDS MFA with an exact RequestedAuthnContext, and an opaque RelayState", async () => {
    const { location, request, relayState } = await signIn("acme");
    expect(location.startsWith("https://idp.corp.example/saml/sso?SAMLRequest=")).toBe(true);
    expect(request.xml).toContain('Comparison="exact"');
    expect(request.xml).toContain(REFEDS_MFA);
    expect(request.xml).toContain(
      'AssertionConsumerServiceURL="https://mfa.test/t/acme/idps/corp/saml/acs"',
    );
    expect(relayState).toMatch(/^fed_/);
    expect(relayState).not.toContain("http");
  });

  it('sends ForceAuthn="true" when the start demands a fresh authentication (force=true)', async () => {
    const xml = await startedRequest("acme", "&force=true");
    expect(xml).toMatch(/<samlp:AuthnRequest [^>]*ForceAuthn="true"/);
  });

  it('sends ForceAuthn="true" when the policy\'s maximum age (300 s) is under an hour: SAML has no max_age', async () => {
    const xml = await startedRequest("hooli");
    expect(xml).toMatch(/<samlp:AuthnRequest [^>]*ForceAuthn="true"/);
    expect(xml).toContain(REFEDS_MFA);
  });

  it("sends no ForceAuthn for a plain start under the IdP's day-long maximum age", async () => {
    const xml = await startedRequest("acme");
    expect(xml).toMatch(/^<samlp:AuthnRequest /);
    expect(xml).not.toContain("ForceAuthn");
  });

  it("allows with the IdP's verified MFA and keeps its values in the receipt", async () => {
    const { samlResponse, relayState } = await signIn("acme", { authnContextClassRef: REFEDS_MFA });
    const { location, receipt } = await receiptOf(await post("acme", { samlResponse, relayState }));
    expect(`${location.origin}${location.pathname}`).toBe(RETURN_TO);
    expect(receipt.outcome).toBe("allow");
    expect(receipt.principal).toBe(ALICE);
    const event = (receipt.inputSummary["events"] as unknown[])[0];
    expect(event).toMatchObject({
      method: "federated",
      source: "idp",
      idp: "corp",
      assurance: { aal: 2, phishingResistant: false },
      claims: { issuer: "https://idp.corp.example/saml", authnContextClassRefs: [REFEDS_MFA] },
    });
  });

  it("challenges a password-only answer with a forced IdP step-up, never allows", async () => {
    const { samlResponse, relayState } = await signIn("acme", {
      authnContextClassRef: PASSWORD_PROTECTED_TRANSPORT,
    });
    const { receipt } = await receiptOf(await post("acme", { samlResponse, relayState }));
    expect(receipt.outcome).toBe("challenge");
    const stepUp = receipt.decision.challenge.find((o) => o.kind === "idp_step_up");
    expect(stepUp).toMatchObject({
      idp: "corp",
      forceAuthn: true,
      authnContextClassRefs: [REFEDS_MFA],
    });
  });

  it("offers platform MFA beside the IdP step-up under idp_or_platform", async () => {
    const { samlResponse, relayState } = await signIn("initech", {
      authnContextClassRef: PASSWORD_PROTECTED_TRANSPORT,
    });
    const { receipt } = await receiptOf(await post("initech", { samlResponse, relayState }));
    expect(receipt.outcome).toBe("challenge");
    const kinds = receipt.decision.challenge.map((o) => o.kind);
    expect(kinds).toContain("idp_step_up");
    expect(kinds).toContain("enroll");
  });

  it("refuses the same answer twice, and audits the second", async () => {
    const { samlResponse, relayState } = await signIn("acme");
    must(await post("acme", { samlResponse, relayState }), 303);
    const again = await post("acme", { samlResponse, relayState }, "application/json");
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ code: "federation.request_unknown" });
    const refused = await audit("acme", "federation.rejected");
    expect(refused.at(-1)?.payload).toMatchObject({
      reason: "federation.request_unknown",
      idp: "corp",
    });
  });

  it("refuses an assertion replayed into a new sign-in (its id is used once)", async () => {
    const first = await signIn("acme");
    must(
      await post("acme", { samlResponse: first.samlResponse, relayState: first.relayState }),
      303,
    );
    // A fresh, pending sign-in does not make an old assertion new: InResponseTo differs.
    const second = await signIn("acme");
    const replay = await post(
      "acme",
      { samlResponse: first.samlResponse, relayState: second.relayState },
      "application/json",
    );
    expect(replay.statusCode).toBe(400);
    expect(replay.json()).toMatchObject({
      code: "federation.rejected",
      details: { reason: "saml.in_response_to_mismatch" },
    });
  });

  it("refuses an answer naming someone else than the sign-in was started for", async () => {
    const { samlResponse, relayState } = await signIn("acme", { nameId: "mallory@example.org" });
    const page = await post("acme", { samlResponse, relayState });
    expect(page.statusCode).toBe(403);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain("federation.subject_mismatch");
    expect(page.body).not.toMatch(/at .*\.js:\d+/);
    const refused = await audit("acme", "federation.rejected");
    expect(refused.at(-1)?.payload).toMatchObject({ reason: "federation.subject_mismatch" });
  });

  it("refuses at tenant B an answer made for tenant A", async () => {
    const { samlResponse, relayState } = await signIn("acme");
    const crossed = await post("globex", { samlResponse, relayState }, "application/json");
    expect(crossed.statusCode).toBe(400);
    // The pending sign-in belongs to acme: globex cannot complete it.
    expect(crossed.json(), crossed.body).toMatchObject({ code: "federation.request_unknown" });
    const unsolicitedAtB = await post("globex", { samlResponse }, "application/json");
    expect(unsolicitedAtB.statusCode).toBe(400);
    expect(unsolicitedAtB.json()).toMatchObject({ code: "federation.rejected" });
  });

  it("refuses at one of a tenant's IdPs an answer to a sign-in started at another of them", async () => {
    // umbrella registers corp and a partner's IdP. A sign-in started at corp is answered by the
    // partner's IdP (its own key and entity, to its own ACS, InResponseTo corp's request) and
    // posted to the partner's ACS with corp's RelayState: the request is corp's alone.
    await registerSamlTenant(t, idp, "umbrella", {
      posture: "idp_mfa",
      returnUrls: ["https://app.umbrella.example/signed-in"],
    });
    const partner = new TestIdp({ entityId: "https://idp.partner.example/saml" });
    must(
      await t.call("PUT", "/v1/tenants/umbrella/idps/partner", {
        key: await t.key(["tenant_admin"], ["umbrella"]),
        body: { protocol: "saml", saml: { metadataXml: partner.metadataXml() } },
      }),
      201,
    );
    const { request, samlResponse, relayState } = await signIn("umbrella");
    const base = "https://mfa.test/t/umbrella/idps/partner/saml";
    const partnerMetadata = must(
      await t.call("GET", "/t/umbrella/idps/partner/saml/metadata"),
      200,
    ).body;
    const fromPartner = await partner.login(
      { entityId: `${base}/metadata`, acsUrl: `${base}/acs` },
      partnerMetadata,
      request.id,
      { issuedAt: t.clock.now(), nameId: ALICE, authnContextClassRef: REFEDS_MFA },
    );
    const crossed = await post(
      "umbrella",
      { samlResponse: fromPartner, relayState },
      "application/json",
      "partner",
    );
    expect(crossed.statusCode, crossed.body).toBe(400);
    expect(crossed.json()).toMatchObject({ code: "federation.request_unknown" });
    // corp's sign-in is still pending, and corp's own answer completes it.
    const { receipt } = await receiptOf(await post("umbrella", { samlResponse, relayState }));
    expect(receipt.outcome).toBe("allow");
  });

  // initech accepts unsolicited answers from the same IdP as acme, so nothing but the verifier's
  // binding of the answer to initech's own SP stands between acme's answer and a decision there.
  const INITECH_RETURN = "https://app.initech.example/signed-in";
  const mintedFor = async (tenant: string, tags: LoginOptions["tags"] = {}) => {
    const sp = await spOf(tenant);
    return idp.login(sp.identity, sp.metadata, undefined, {
      issuedAt: t.clock.now(),
      nameId: ALICE,
      tags,
    });
  };
  const initechAcs = "https://mfa.test/t/initech/idps/corp/saml/acs";
  it.each<[string, string, () => Promise<string>]>([
    ["an unsolicited answer minted for acme", "saml.destination_mismatch", () => mintedFor("acme")],
    [
      "an answer to acme's own sign-in request",
      "saml.destination_mismatch",
      async () => (await signIn("acme")).samlResponse,
    ],
    [
      "acme's signed assertion in an unsigned envelope re-addressed to initech",
      "saml.recipient_mismatch",
      async () =>
        tamper(await mintedFor("acme"), (doc) => {
          responseOf(doc).setAttribute("Destination", initechAcs);
        }),
    ],
    [
      "an assertion for acme's audience, even addressed to initech's ACS",
      "saml.audience_mismatch",
      () => mintedFor("acme", { Destination: initechAcs, SubjectRecipient: initechAcs }),
    ],
    [
      "an answer made for initech by another IdP signing with the same key (another tenant of a multi-tenant IdP)",
      "saml.issuer_mismatch",
      async () => {
        const sibling = new TestIdp({
          entityId: "https://idp.other.example/saml",
          keyPair: idp.keyPair,
        });
        const sp = await spOf("initech");
        return sibling.login(sp.identity, sp.metadata, undefined, {
          issuedAt: t.clock.now(),
          nameId: ALICE,
        });
      },
    ],
  ])(
    "refuses at initech (unsolicited answers allowed) %s with %s, and decides nothing",
    async (_name, reason, mint) => {
      const samlResponse = await mint();
      const decided = (await audit("initech", "decision.recorded")).length;
      const refusedBefore = (await audit("initech", "federation.rejected")).length;
      const crossed = await post(
        "initech",
        { samlResponse, relayState: INITECH_RETURN },
        "application/json",
      );
      expect(crossed.statusCode, crossed.body).toBe(400);
      expect(crossed.headers.location).toBeUndefined();
      expect(crossed.json()).toMatchObject({ code: "federation.rejected", details: { reason } });
      const refused = (await audit("initech", "federation.rejected")).slice(refusedBefore);
      expect(refused.map((e) => e.payload)).toMatchObject([
        { idp: "corp", protocol: "saml", reason },
      ]);
      expect(await audit("initech", "decision.recorded")).toHaveLength(decided);
    },
  );

  it("returns to the platform with idp_mfa_unavailable when the IdP answers NoAuthnContext", async () => {
    const { samlResponse, relayState } = await signIn("acme");
    // Unsigned, but it answers this sign-in's own request (RelayState and InResponseTo).
    const noMfa = noAuthnContext(samlResponse);
    const answer = must(await post("acme", { samlResponse: noMfa, relayState }), 303);
    const location = new URL(answer.headers.location as string);
    expect(location.searchParams.get("error")).toBe("idp_mfa_unavailable");
    expect(location.searchParams.get("decision")).toBeNull();
    const events = await audit("acme", "federation.mfa_unavailable");
    expect(events.at(-1)?.payload).toMatchObject({
      reason: "saml.no_authn_context",
      // The start's principal= is anyone's word: kept as a hint, not as the principal.
      principalHint: ALICE,
      statusSigned: false,
    });
    expect(events.at(-1)?.payload["principal"]).toBeUndefined();
  });

  // Threat: forged evidence that the IdP could not do MFA (checklist S7: an unsigned Response's
  // Status is unsigned). Unsolicited, nothing binds it to a sign-in: it is anyone's word.
  it("records an unsigned, unsolicited NoAuthnContext as a refusal, never as the IdP's word", async () => {
    const unavailableBefore = (await audit("initech", "federation.mfa_unavailable")).length;
    const refusedBefore = (await audit("initech", "federation.rejected")).length;
    const sp = await spOf("initech");
    const forged = noAuthnContext(
      await idp.login(sp.identity, sp.metadata, undefined, {
        issuedAt: t.clock.now(),
        nameId: ALICE,
      }),
    );
    const answer = await post(
      "initech",
      { samlResponse: forged, relayState: "https://app.initech.example/signed-in" },
      "application/json",
    );
    expect(answer.statusCode).toBe(400);
    expect(answer.headers.location).toBeUndefined();
    expect(answer.json()).toMatchObject({
      code: "federation.rejected",
      details: { reason: "saml.no_authn_context" },
    });
    expect(await audit("initech", "federation.mfa_unavailable")).toHaveLength(unavailableBefore);
    const refused = (await audit("initech", "federation.rejected")).slice(refusedBefore);
    expect(refused.map((e) => e.payload)).toMatchObject([
      { reason: "saml.no_authn_context", statusSigned: false },
    ]);
  });

  it("records a signed, unsolicited NoAuthnContext as the IdP's word", async () => {
    const before = (await audit("initech", "federation.mfa_unavailable")).length;
    const sp = await spOf("initech");
    const unsigned = decode(
      noAuthnContext(
        await idp.login(sp.identity, sp.metadata, undefined, {
          issuedAt: t.clock.now(),
          nameId: ALICE,
        }),
      ),
    );
    const responseId = /<samlp:Response [^>]*\bID="([^"]+)"/.exec(unsigned)?.[1] ?? "";
    const signed = signWithReferences(unsigned, idp.keyPair.privateKeyPem, responseId, [
      responseId,
    ]);
    const answer = await post("initech", { samlResponse: encode(signed) }, "application/json");
    expect(answer.statusCode).toBe(400);
    const recorded = (await audit("initech", "federation.mfa_unavailable")).slice(before);
    expect(recorded.map((e) => e.payload)).toMatchObject([
      { reason: "saml.no_authn_context", statusSigned: true },
    ]);
  });

  it("refuses unsolicited answers unless the tenant allowed them, and then returns only to a registered URL", async () => {
    const sp = await spOf("acme");
    const unsolicited = await idp.login(sp.identity, sp.metadata, undefined, {
      issuedAt: t.clock.now(),
      nameId: ALICE,
    });
    const refused = await post("acme", { samlResponse: unsolicited }, "application/json");
    expect(refused.json()).toMatchObject({ details: { reason: "saml.unsolicited" } });

    const allowedSp = await spOf("initech");
    const answer = async (relayState: string) =>
      post(
        "initech",
        {
          samlResponse: await idp.login(allowedSp.identity, allowedSp.metadata, undefined, {
            issuedAt: t.clock.now(),
            nameId: ALICE,
          }),
          relayState,
        },
        "application/json",
      );
    const accepted = must(await answer("https://app.initech.example/signed-in"), 303);
    expect(accepted.headers.location).toMatch(
      /^https:\/\/app\.initech\.example\/signed-in\?decision=dec_/,
    );
    const elsewhere = await answer("https://evil.example/signed-in");
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json()).toMatchObject({ code: "federation.return_to_not_allowed" });
    expect(elsewhere.headers.location).toBeUndefined();
  });

  it("accepts an assertion id once, even without a pending sign-in to consume", async () => {
    const sp = await spOf("initech");
    const samlResponse = await idp.login(sp.identity, sp.metadata, undefined, {
      issuedAt: t.clock.now(),
      nameId: ALICE,
    });
    const relayState = "https://app.initech.example/signed-in";
    must(await post("initech", { samlResponse, relayState }), 303);
    const replay = await post("initech", { samlResponse, relayState }, "application/json");
    expect(replay.statusCode).toBe(400);
    expect(replay.json()).toMatchObject({ details: { reason: "federation.replayed" } });
  });

  it("never starts a sign-in that would return to an unregistered URL", async () => {
    for (const returnTo of [
      "https://evil.example/",
      "//evil.example/x",
      "https://app.acme.example.evil.example/signed-in",
    ]) {
      const response = await t.call(
        "GET",
        `/t/acme/idps/corp/start?return_to=${encodeURIComponent(returnTo)}`,
        {
          headers: { accept: "application/json" },
        },
      );
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: "federation.return_to_not_allowed" });
      expect(response.headers.location).toBeUndefined();
    }
  });

  it("treats an IdP authentication older than the IdP's maximum age as proving nothing", async () => {
    const old = new Date(t.clock.now().getTime() - 2 * 86_400_000).toISOString();
    const { samlResponse, relayState } = await signIn("acme", {
      tags: {
        AuthnStatement:
          `<saml:AuthnStatement AuthnInstant="${old}" SessionIndex="_s"><saml:AuthnContext>` +
          `<saml:AuthnContextClassRef>${REFEDS_MFA}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
      },
    });
    const { receipt } = await receiptOf(await post("acme", { samlResponse, relayState }));
    expect(receipt.outcome).toBe("challenge");
    expect((receipt.inputSummary["events"] as unknown[])[0]).toMatchObject({
      assurance: { aal: 0 },
      claims: { authenticationTooOld: true },
    });
  });

  it("records drift when an IdP that proved MFA stops proving it, once per change", async () => {
    const before = (await audit("globex", "idp.drift")).length;
    for (const classRef of [
      REFEDS_MFA,
      PASSWORD_PROTECTED_TRANSPORT,
      PASSWORD_PROTECTED_TRANSPORT,
    ]) {
      const { samlResponse, relayState } = await signIn("globex", {
        authnContextClassRef: classRef,
      });
      must(await post("globex", { samlResponse, relayState }), 303);
    }
    const drift = (await audit("globex", "idp.drift")).slice(before);
    expect(drift.map((e) => e.payload["kind"])).toEqual(["mfa_missing"]);
    const metrics = await t.call("GET", "/metrics");
    expect(metrics.body).toMatch(/tenant_mfa_idp_drift_total\{kind="mfa_missing"\} [1-9]/);
  });

  it("publishes SP metadata naming its ACS, and 404s for an unknown IdP", async () => {
    const { metadata } = await spOf("acme");
    expect(metadata).toContain('entityID="https://mfa.test/t/acme/idps/corp/saml/metadata"');
    expect(metadata).toContain('Location="https://mfa.test/t/acme/idps/corp/saml/acs"');
    const unknown = await t.call("GET", "/t/acme/idps/nope/saml/metadata", {
      headers: { accept: "application/json" },
    });
    expect(unknown.statusCode).toBe(404);
  });

  it("answers a post to an unknown IdP's or tenant's ACS with 404 not_found, and records nothing", async () => {
    // A real, valid answer: only the endpoint it is posted to is unknown.
    const { samlResponse, relayState } = await signIn("acme");
    const chainOf = (tenant: string) =>
      t.store.read((r) => r.audit.read(`tenant:${tenant}`, { afterSeq: 0, limit: 100_000 }));
    const before = await chainOf("acme");
    for (const [tenant, idpId] of [
      ["acme", "nope"],
      ["nope", "corp"],
    ] as const) {
      const json = await post(tenant, { samlResponse, relayState }, "application/json", idpId);
      expect(json.statusCode).toBe(404);
      expect(json.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
      expect(json.json()).toMatchObject({ status: 404, code: "not_found" });
      expect(json.headers.location).toBeUndefined();
      const page = await post(tenant, { samlResponse, relayState }, undefined, idpId);
      expect(page.statusCode).toBe(404);
      expect(page.body).toContain("<code>not_found</code>");
      expect(page.headers.location).toBeUndefined();
    }
    // No refusal, no decision, no receipt: neither audit chain moved.
    expect(await chainOf("acme")).toEqual(before);
    expect(await chainOf("nope")).toEqual([]);
    // The answer was not used up by those posts: at its own ACS it still completes.
    const { receipt } = await receiptOf(await post("acme", { samlResponse, relayState }));
    expect(receipt.outcome).toBe("allow");
  });

  it("answers malformed posts with a 4xx explanation, never a 500", async () => {
    for (const samlResponse of ["%%%not-base64%%%", Buffer.from("<x/>").toString("base64"), "A"]) {
      const response = await post("acme", { samlResponse, relayState: "fed_unknown" });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
    }
    const empty = await t.call("POST", "/t/acme/idps/corp/saml/acs", {
      body: "",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(empty.statusCode).toBe(400);
  });
});

// DESIGN invariant 3: "Unsolicited responses get the same checks." initech accepts IdP-initiated
// answers, so nothing but the verifier stands between a forged or stale answer and a decision
// there: each answer below starts from one the real IdP signed for initech, unsolicited.
describe("unsolicited answers at initech get the same checks as solicited ones", () => {
  const RETURN_TO_INITECH = "https://app.initech.example/signed-in";
  /** Unsolicited, RelayState may name a registered return URL, or be absent. */
  const RELAY_STATES = [
    ["RelayState a registered return URL", RETURN_TO_INITECH],
    ["no RelayState", undefined],
  ] as const;

  /** A signed, unsolicited answer the IdP made for initech's SP, for alice. */
  async function unsolicited(login: Partial<LoginOptions> = {}, shape?: ResponseShapeOptions) {
    const sp = await spOf("initech");
    return idp.login(
      sp.identity,
      sp.metadata,
      undefined,
      { issuedAt: t.clock.now(), nameId: ALICE, ...login },
      shape,
    );
  }

  const form = (samlResponse: string, relayState: string | undefined) =>
    relayState === undefined ? { samlResponse } : { samlResponse, relayState };

  /** Posts to initech and expects a 400 refusal for `reason`, audited, with no decision. */
  async function expectRefused(
    samlResponse: string,
    relayState: string | undefined,
    reason: string,
  ) {
    const decided = (await audit("initech", "decision.recorded")).length;
    const refusedBefore = (await audit("initech", "federation.rejected")).length;
    const answer = await post("initech", form(samlResponse, relayState), "application/json");
    expect(answer.statusCode, answer.body).toBe(400);
    expect(answer.headers.location).toBeUndefined();
    expect(answer.json()).toMatchObject({ code: "federation.rejected", details: { reason } });
    const refused = (await audit("initech", "federation.rejected")).slice(refusedBefore);
    expect(refused.map((e) => e.payload)).toMatchObject([
      { idp: "corp", protocol: "saml", reason },
    ]);
    expect(await audit("initech", "decision.recorded")).toHaveLength(decided);
  }

  const xswCases = Object.keys(XSW_VARIANTS).flatMap((name) =>
    RELAY_STATES.map(
      ([how, relayState]) => [name as keyof typeof XSW_VARIANTS, how, relayState] as const,
    ),
  );

  it.each(xswCases)(
    "refuses %s applied to an unsolicited answer (%s) with its reason, deciding nothing",
    async (name, _how, relayState) => {
      // XSW1 and XSW2 wrap the Response's signature, the others the Assertion's.
      const signResponse = name === "xsw1" || name === "xsw2";
      const genuine = await unsolicited({}, { signResponse });
      const attacked = tamper(genuine, XSW_VARIANTS[name]);
      expect(decode(attacked)).toContain(ATTACKER);
      await expectRefused(attacked, relayState, XSW_REJECTIONS[name]);
      // The attack started from an answer initech accepts: only the wrapping was refused.
      if (relayState !== undefined) {
        const { receipt } = await receiptOf(await post("initech", form(genuine, relayState)));
        expect(receipt.principal).toBe(ALICE);
      }
    },
  );

  /** The assertion's signature removed, and the subject changed to the attacker. */
  const unsigned = (samlResponse: string) =>
    tamper(samlResponse, (doc) => {
      const assertion = assertionOf(doc);
      assertion.removeChild(signatureOf(assertion));
      impersonate(assertion);
    });

  it.each(RELAY_STATES)(
    "refuses an unsolicited answer whose assertion signature was removed (%s) with saml.signature_missing",
    async (_how, relayState) => {
      await expectRefused(unsigned(await unsolicited()), relayState, "saml.signature_missing");
    },
  );

  it.each(RELAY_STATES)(
    "refuses an unsolicited answer with a signed Response but an unsigned assertion (%s) with saml.signature_missing",
    async (_how, relayState) => {
      const answer = unsigned(await unsolicited({}, { signResponse: true }));
      expect(decode(answer)).toContain(ATTACKER);
      await expectRefused(answer, relayState, "saml.signature_missing");
    },
  );

  it.each(RELAY_STATES)(
    "refuses an unsolicited answer that expired (issued 10 minutes ago, valid 5; %s) with saml.expired",
    async (_how, relayState) => {
      const issuedAt = new Date(t.clock.now().getTime() - 10 * 60_000);
      await expectRefused(await unsolicited({ issuedAt }), relayState, "saml.expired");
    },
  );

  it("treats an unsolicited MFA answer whose AuthnInstant is older than the IdP's maximum age as proving nothing", async () => {
    // No request, so no answer held for a browser and judged again when claimed: the ACS decides
    // at once, and its own age check is all that stands between a two-day-old MFA and an allow.
    const old = new Date(t.clock.now().getTime() - 2 * 86_400_000).toISOString();
    const statement = (instant: string) =>
      `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="_s"><saml:AuthnContext>` +
      `<saml:AuthnContextClassRef>${REFEDS_MFA}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    // The same answer with a fresh AuthnInstant is allowed.
    const fresh = await unsolicited({
      tags: { AuthnStatement: statement(t.clock.now().toISOString()) },
    });
    expect(
      (await receiptOf(await post("initech", form(fresh, RETURN_TO_INITECH)))).receipt.outcome,
    ).toBe("allow");
    const stale = await unsolicited({ tags: { AuthnStatement: statement(old) } });
    const { receipt } = await receiptOf(await post("initech", form(stale, RETURN_TO_INITECH)));
    expect(receipt.outcome).toBe("challenge");
    expect((receipt.inputSummary["events"] as unknown[])[0]).toMatchObject({
      assurance: { aal: 0 },
      claims: { authenticationTooOld: true, authnInstant: old },
    });
  });

  it("challenges an unsolicited password-only answer (idp_or_platform: IdP step-up or platform MFA), never allows", async () => {
    const samlResponse = await unsolicited({
      authnContextClassRef: PASSWORD_PROTECTED_TRANSPORT,
    });
    const { location, receipt } = await receiptOf(
      await post("initech", { samlResponse, relayState: RETURN_TO_INITECH }),
    );
    expect(`${location.origin}${location.pathname}`).toBe(RETURN_TO_INITECH);
    expect(receipt.outcome).toBe("challenge");
    expect(receipt.principal).toBe(ALICE);
    expect(receipt.decision.challenge.map((o) => o.kind)).toEqual(
      expect.arrayContaining(["enroll", "idp_step_up"]),
    );
    expect(receipt.decision.challenge.find((o) => o.kind === "idp_step_up")).toMatchObject({
      idp: "corp",
      forceAuthn: true,
      authnContextClassRefs: [REFEDS_MFA],
    });
    expect((receipt.inputSummary["events"] as unknown[])[0]).toMatchObject({
      source: "idp",
      idp: "corp",
      assurance: { aal: 1 },
      claims: { authnContextClassRefs: [PASSWORD_PROTECTED_TRANSPORT] },
    });
  });

  it("records a challenge, and returns nowhere, for an unsolicited password-only answer without RelayState", async () => {
    const samlResponse = await unsolicited({
      authnContextClassRef: PASSWORD_PROTECTED_TRANSPORT,
    });
    const answer = await post("initech", { samlResponse }, "application/json");
    expect(answer.statusCode, answer.body).toBe(400);
    expect(answer.headers.location).toBeUndefined();
    const problem = answer.json<{ code: string; details: { decision: string } }>();
    expect(problem.code).toBe("federation.return_to_not_allowed");
    const receipt = must(
      await t.call("GET", `/v1/decisions/${problem.details.decision}`, { key: t.adminKey }),
      200,
    ).json<ReceiptRecord>();
    expect(receipt.outcome).toBe("challenge");
    expect(receipt.principal).toBe(ALICE);
  });
});
