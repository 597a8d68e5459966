// Threat: a verified IdP answer that leaves no trace in the audit chain (DESIGN invariant 4:
// every state change and its audit event commit together). A direct SAML sign-in's answer is
// verified at the ACS, its request consumed, its assertion id claimed and the answer held for the
// browser that started the sign-in; only that browser's claim decides (and records the decision).
// An answer never claimed (mallory's, auto-posted through a victim's browser and refused at the
// victim's completion; a tab closed at the redirect) must still show in the chain, from the
// transaction that held it, as a hosted flow's held answer does (`flow.idp_answered`). Against the
// real samlify IdP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../app/records.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { must, postToAcs, registerSamlTenant } from "../test-support/saml-federation.js";

const RETURN = "https://app.acme.example/signed-in";
const MALLORYS_BROWSER = browserCookie("M", "__Host-tmfa_browser");
const VICTIMS_BROWSER = browserCookie("V", "__Host-tmfa_browser");
const ANSWER_TTL_SECONDS = 300;

let t: TestServer;
let idp: TestIdp;
let auditor: string;

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN] });
  auditor = await t.key(["tenant_auditor"], ["acme"]);
});

afterAll(async () => {
  await t.close();
});

async function audit(type: string): Promise<AuditEvent[]> {
  const response = await t.call("GET", `/v1/tenants/acme/audit?type=${type}&limit=500`, {
    key: auditor,
  });
  return must(response, 200).json<{ items: AuditEvent[] }>().items;
}

describe("a held SAML answer is audited in the transaction that holds it", () => {
  it("records federation.answer_held at the ACS, before and whether or not any browser claims it", async () => {
    const heldBefore = (await audit("federation.answer_held")).length;
    const decidedBefore = (await audit("decision.recorded")).length;
    // Mallory starts in his browser and signs in at the IdP as himself.
    const started = must(
      await t.call("GET", `/t/acme/idps/corp/start?return_to=${encodeURIComponent(RETURN)}`, {
        headers: { cookie: MALLORYS_BROWSER },
      }),
      303,
    );
    const metadata = must(await t.call("GET", "/t/acme/idps/corp/saml/metadata"), 200).body;
    const request = await idp.receiveAuthnRequest(metadata, String(started.headers.location));
    const authnInstant = t.clock.now().toISOString();
    const samlResponse = await idp.login(
      {
        entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
        acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
      },
      metadata,
      request.id,
      { issuedAt: t.clock.now(), nameId: "mallory@example.org", authnContextClassRef: REFEDS_MFA },
    );
    // The victim's browser posts it, and follows the redirect with its own cookie: refused.
    const acs = must(await postToAcs(t, samlResponse, request.relayState), 303);
    const completion = new URL(String(acs.headers.location));
    const answerId = completion.searchParams.get("answer") ?? "";
    const refused = await t.call("GET", `${completion.pathname}${completion.search}`, {
      headers: { cookie: VICTIMS_BROWSER },
    });
    expect(refused.statusCode).toBe(403);

    const held = (await audit("federation.answer_held")).slice(heldBefore);
    expect(held.map((e) => [e.actor, e.payload])).toEqual([
      [
        "idp:corp",
        {
          idp: "corp",
          protocol: "saml",
          request: request.relayState,
          subject: "mallory@example.org",
          at: authnInstant,
          expiresAt: new Date(t.clock.now().getTime() + ANSWER_TTL_SECONDS * 1000).toISOString(),
        },
      ],
    ]);
    // Nothing of the one-time id (nor its digest) is in the chain: it travels in the redirect only.
    expect(JSON.stringify(held)).not.toContain(answerId);
    expect(await audit("decision.recorded")).toHaveLength(decidedBefore);
  });
});
