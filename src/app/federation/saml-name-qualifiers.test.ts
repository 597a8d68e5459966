/**
 * Threat: a hub IdP (one entity id, a proxy or federation gateway) passes on the NameIDs of the
 * IdPs behind it, each scoped by its own `NameQualifier` (SAML Core §2.2.2; a persistent
 * identifier is unique only for the pair of its NameQualifier and SPNameQualifier, §8.3.7). Read
 * without its qualifiers, upstream A's "alice" and upstream B's "alice" were one principal here,
 * whoever B's alice is. A NameID qualified by another name than the IdP's entity id is refused
 * (`saml.name_qualifier_mismatch`), as one qualified for another service provider
 * (`saml.sp_name_qualifier_mismatch`); a NameQualifier that is the IdP's own entity id, and an
 * SPNameQualifier that is this SP's, qualify nothing further: such a NameID names the principal it
 * named without them. End to end through the HTTP server against the real samlify IdP.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { auditOf } from "../../http/test-support/oidc-federation.js";
import {
  answerAtAcs,
  followCompletion,
  registerSamlTenant,
} from "../../http/test-support/saml-federation.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";

const RETURN = "https://app.acme.example/signed-in";
const HUB = "https://hub.acme.example/saml";
const SP_ENTITY_ID = "https://mfa.test/t/acme/idps/corp/saml/metadata";
const PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const JSON_ONLY = { accept: "application/json" };

let t: TestServer;
let auditor: string;
const hub = new TestIdp({ entityId: HUB });

beforeAll(async () => {
  t = await openTestServer({});
  await registerSamlTenant(t, hub, "acme", { posture: "idp_mfa", returnUrls: [RETURN] });
  auditor = await t.key(["tenant_auditor"], ["acme"]);
});
afterAll(() => t.close());

/** The hub's answer naming persistent `alice` with these qualifiers (undefined: left out). */
async function signIn(qualifiers: {
  NameQualifier?: string;
  SPNameQualifier?: string;
}): Promise<LightMyRequestResponse> {
  const { acs, cookie } = await answerAtAcs(
    t,
    hub,
    RETURN,
    { nameId: "alice", tags: { NameIDFormat: PERSISTENT, ...qualifiers } },
    "acme",
    { headers: JSON_ONLY },
  );
  return followCompletion(t, acs, cookie, JSON_ONLY);
}

/** The principal the answer was decided for, or the refusal's reason. */
async function outcomeOf(response: LightMyRequestResponse): Promise<string> {
  if (response.statusCode !== 303) {
    return `refused: ${response.json<{ details?: { reason?: string } }>().details?.reason ?? response.body}`;
  }
  const decision = new URL(String(response.headers.location)).searchParams.get("decision");
  const receipt = await t.call("GET", `/v1/decisions/${String(decision)}`, { key: auditor });
  return `principal ${receipt.json<{ principal: string }>().principal}`;
}

describe("a NameID's qualifiers", () => {
  it("keep two upstream IdPs' alices behind one hub apart: another NameQualifier is refused", async () => {
    expect(await outcomeOf(await signIn({ NameQualifier: "https://a.example/idp" }))).toBe(
      "refused: saml.name_qualifier_mismatch",
    );
    expect(await outcomeOf(await signIn({ NameQualifier: "https://b.example/idp" }))).toBe(
      "refused: saml.name_qualifier_mismatch",
    );
    const refusals = await auditOf(t, auditor, "acme", "federation.rejected");
    expect(refusals.slice(-2).map((event) => event.payload)).toMatchObject([
      { idp: "corp", reason: "saml.name_qualifier_mismatch" },
      { idp: "corp", reason: "saml.name_qualifier_mismatch" },
    ]);
  });

  it("refuse a NameID qualified for another service provider", async () => {
    expect(
      await outcomeOf(
        await signIn({ SPNameQualifier: "https://other-sp.example/t/acme/saml/metadata" }),
      ),
    ).toBe("refused: saml.sp_name_qualifier_mismatch");
    const [refusal] = (await auditOf(t, auditor, "acme", "federation.rejected")).slice(-1);
    expect(refusal?.payload).toMatchObject({ reason: "saml.sp_name_qualifier_mismatch" });
  });

  it("name the same principal as before when they are the IdP's and this SP's own", async () => {
    expect(await outcomeOf(await signIn({}))).toBe("principal alice");
    expect(await outcomeOf(await signIn({ NameQualifier: HUB }))).toBe("principal alice");
    expect(
      await outcomeOf(await signIn({ NameQualifier: HUB, SPNameQualifier: SP_ENTITY_ID })),
    ).toBe("principal alice");
  });
});
