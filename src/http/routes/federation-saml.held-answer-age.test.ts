// Threat: a stale IdP authentication counting as fresh because its answer waited. A tenant
// accepts from its IdP no authentication older than the registration's
// maxAuthenticationAgeSeconds, "whatever the policy". A direct SAML sign-in's verified answer is
// held at the ACS for up to 5 minutes until its browser claims it at the completion, where the
// engine decides: the IdP's age limit must hold at that decision, not only when the ACS verified
// the answer, or an authentication just inside the limit at the ACS is still accepted minutes
// past it. Against the real samlify IdP, with the injected clock.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceiptRecord } from "../../app/records.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { cookieOf } from "../test-support/browser-cookie.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  followCompletion,
  must,
  postToAcs,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const RETURN = "https://app.acme.example/signed-in";
/**
 * The oldest IdP authentication acme accepts from its IdP (the registration's limit). An hour:
 * below it, a SAML start asks for ForceAuthn, and an answer with an older authentication is
 * refused as not forced, which would hide what is tested here.
 */
const MAX_AGE_SECONDS = 3600;
/** The registration's default clock skew. */
const SKEW_SECONDS = 120;

let t: TestServer;
let idp: TestIdp;

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN] });
  must(
    await t.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: {
        protocol: "saml",
        saml: { metadataXml: idp.metadataXml() },
        maxAuthenticationAgeSeconds: MAX_AGE_SECONDS,
      },
    }),
    200,
  );
});

afterAll(async () => {
  await t.close();
});

/**
 * A direct sign-in whose IdP authentication happened `ageSeconds` before the IdP answers; the
 * ACS's redirect to the completion, and the starting browser's cookie.
 */
async function heldAnswer(ageSeconds: number) {
  const started = must(
    await t.call("GET", `/t/acme/idps/corp/start?return_to=${encodeURIComponent(RETURN)}`),
    303,
  );
  const metadata = must(await t.call("GET", "/t/acme/idps/corp/saml/metadata"), 200).body;
  const identity = {
    entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
    acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
  };
  const request = await idp.receiveAuthnRequest(metadata, String(started.headers.location));
  const instant = new Date(t.clock.now().getTime() - ageSeconds * 1000).toISOString();
  const samlResponse = await idp.login(identity, metadata, request.id, {
    issuedAt: t.clock.now(),
    nameId: "alice@example.org",
    tags: {
      AuthnStatement:
        `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="_s"><saml:AuthnContext>` +
        `<saml:AuthnContextClassRef>${REFEDS_MFA}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
    },
  });
  const acs = must(await postToAcs(t, samlResponse, request.relayState), 303);
  expect(new URL(String(acs.headers.location)).pathname).toBe("/t/acme/idps/corp/saml/complete");
  return { acs, cookie: cookieOf(started) };
}

async function receiptOf(completed: Awaited<ReturnType<typeof followCompletion>>) {
  const location = new URL(String(must(completed, 303).headers.location));
  const id = location.searchParams.get("decision") ?? "";
  return must(
    await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey }),
    200,
  ).json<ReceiptRecord>();
}

describe("a held SAML answer is judged by the IdP's maximum authentication age when it is claimed", () => {
  it("proves nothing when the authentication has grown older than the IdP's limit while the answer waited", async () => {
    // Within the limit at the ACS by a minute; claimed four minutes later (within the answer's
    // five), when it is three minutes past the limit and its skew.
    const { acs, cookie } = await heldAnswer(MAX_AGE_SECONDS - 60);
    t.clock.advance(240);
    try {
      const receipt = await receiptOf(await followCompletion(t, acs, cookie));
      expect(receipt.outcome).toBe("challenge");
      expect((receipt.inputSummary["events"] as unknown[])[0]).toMatchObject({
        assurance: { aal: 0 },
        claims: { authenticationTooOld: true },
      });
    } finally {
      t.clock.advance(-240);
    }
  });

  it("still allows an answer claimed while its authentication is within the limit and the skew", async () => {
    const { acs, cookie } = await heldAnswer(MAX_AGE_SECONDS - 60);
    t.clock.advance(60 + SKEW_SECONDS - 1);
    try {
      const receipt = await receiptOf(await followCompletion(t, acs, cookie));
      expect(receipt.outcome).toBe("allow");
      expect(JSON.stringify(receipt.inputSummary)).not.toContain("authenticationTooOld");
    } finally {
      t.clock.advance(-(60 + SKEW_SECONDS - 1));
    }
  });
});
