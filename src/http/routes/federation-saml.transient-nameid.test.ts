// Threat: a transient NameID (SAML Core §8.3.8: a pseudonym for one session, which the IdP may
// later give to someone else) signed in as a principal at the ACS (DESIGN invariant 9). The real
// samlify IdP signs each answer; the server's clock is the IdP's. Where the registration reads
// the subject from an attribute, the NameID is no one's name and a transient one is fine.
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceiptRecord } from "../../app/records.js";
import { auditOf } from "../test-support/oidc-federation.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const PSEUDONYM = "_7c1b0f2e9a4d";
const ALICE = "alice@example.org";
const JSON_ONLY = { accept: "application/json" };

let t: TestServer;
let idp: TestIdp;
let auditor: string;

const returnTo = (tenant: string) => `https://app.${tenant}.example/signed-in`;

/**
 * Starts a sign-in at `tenant` for ALICE in a new browser, lets the IdP answer it with a
 * transient NameID (and `mail` released as ALICE), posts the answer to the ACS and follows the
 * completion in that browser.
 */
async function signInWithTransientNameId(tenant: string): Promise<LightMyRequestResponse> {
  const { acs, cookie } = await answerAtAcs(
    t,
    idp,
    returnTo(tenant),
    { tags: { NameIDFormat: TRANSIENT, NameID: PSEUDONYM, Mail: ALICE } },
    tenant,
    { principal: ALICE, headers: JSON_ONLY },
  );
  return followCompletion(t, acs, cookie, JSON_ONLY);
}

const audit = (tenant: string, type: string) => auditOf(t, auditor, tenant, type);

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  for (const tenant of ["acme", "globex"]) {
    await registerSamlTenant(t, idp, tenant, {
      posture: "idp_mfa",
      returnUrls: [returnTo(tenant)],
    });
  }
  // globex reads the subject from the `mail` attribute, not the NameID.
  must(
    await t.call("PUT", "/v1/tenants/globex/idps/corp", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: {
        protocol: "saml",
        saml: { metadataXml: idp.metadataXml(), subjectAttribute: "mail" },
      },
    }),
    200,
  );
  auditor = await t.key(["tenant_auditor"], ["acme", "globex"]);
});

afterAll(async () => {
  await t.close();
});

describe("a transient NameID at the ACS", () => {
  it("is refused when the subject is the NameID: saml.subject_format, audited, nothing decided", async () => {
    const refusedBefore = (await audit("acme", "federation.rejected")).length;
    const response = await signInWithTransientNameId("acme");
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers.location).toBeUndefined();
    expect(response.json()).toMatchObject({
      code: "federation.rejected",
      details: { reason: "saml.subject_format" },
    });
    const refused = (await audit("acme", "federation.rejected")).slice(refusedBefore);
    expect(refused.map((e) => e.payload)).toMatchObject([
      { idp: "corp", protocol: "saml", reason: "saml.subject_format", principalHint: ALICE },
    ]);
    // The pseudonym is never recorded as anyone's name.
    expect(JSON.stringify(refused)).not.toContain(PSEUDONYM);
    expect(await audit("acme", "decision.recorded")).toEqual([]);
    expect(await audit("acme", "federation.answer_held")).toEqual([]);
  });

  it("is fine when the subject is read from an attribute: the attribute's value signs in", async () => {
    const response = await signInWithTransientNameId("globex");
    const location = new URL(must(response, 303).headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(returnTo("globex"));
    const id = location.searchParams.get("decision") ?? "";
    const receipt = must(await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey }), 200);
    expect(receipt.json<ReceiptRecord>()).toMatchObject({
      outcome: "allow",
      principal: ALICE,
    });
  });
});
