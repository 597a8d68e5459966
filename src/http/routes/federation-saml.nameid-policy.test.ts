// Threat: an identifier the registration did not choose signs in as a principal (DESIGN invariant
// 9). A tenant administrator asks its IdP for a NameID Format (`saml.nameIdFormat`); the server
// says so in the SP metadata and in every AuthnRequest's NameIDPolicy, and refuses at the ACS an
// answer whose NameID, the subject, has another Format. The real samlify IdP reads the metadata
// and the request and signs each answer; the server's clock is the IdP's.
import { inflateRawSync } from "node:zlib";
import { DOMParser, type Element } from "@xmldom/xmldom";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceiptRecord } from "../../app/records.js";
import { auditOf } from "../test-support/oidc-federation.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  followCompletion,
  must,
  postToAcs,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol";
const PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/** The IdP's persistent identifier of the user, who signs in as this principal. */
const USER = "pk3X9bYw2Qz";
const JSON_ONLY = { accept: "application/json" };
const BROWSER = browserCookie("N", "__Host-tmfa_browser");

let t: TestServer;
let idp: TestIdp;
let auditor: string;

const returnTo = (tenant: string) => `https://app.${tenant}.example/signed-in`;
const base = (tenant: string) => `/t/${tenant}/idps/corp`;

/** Starts a sign-in at `tenant` for USER: the IdP's redirect and the SP metadata it was given. */
async function start(tenant: string) {
  const query = `return_to=${encodeURIComponent(returnTo(tenant))}&principal=${USER}`;
  const started = must(
    await t.call("GET", `${base(tenant)}/start?${query}`, { headers: { cookie: BROWSER } }),
    303,
  );
  const metadata = must(await t.call("GET", `${base(tenant)}/saml/metadata`), 200).body;
  return { location: String(started.headers.location), metadata };
}

/** The NameIDPolicy of the AuthnRequest a redirect carries, inflated and parsed. */
function nameIdPolicyOf(location: string): Element | undefined {
  const encoded = new URL(location).searchParams.get("SAMLRequest") ?? "";
  const xml = inflateRawSync(Buffer.from(encoded, "base64")).toString("utf8");
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  expect(doc.documentElement?.localName).toBe("AuthnRequest");
  const policies = doc.getElementsByTagNameNS(PROTOCOL, "NameIDPolicy");
  expect(policies.length).toBe(1);
  return policies[0];
}

/** A sign-in at `tenant` the IdP answers with a NameID of the Format `answered` picks. */
async function signIn(
  tenant: string,
  answered: (asked: string | undefined) => string | undefined,
): Promise<LightMyRequestResponse> {
  const { location, metadata } = await start(tenant);
  const request = await idp.receiveAuthnRequest(metadata, location);
  const samlResponse = await idp.login(
    {
      entityId: `https://mfa.test${base(tenant)}/saml/metadata`,
      acsUrl: `https://mfa.test${base(tenant)}/saml/acs`,
    },
    metadata,
    request.id,
    {
      issuedAt: t.clock.now(),
      nameId: USER,
      tags: { NameIDFormat: answered(request.nameIdPolicy.format) },
    },
  );
  const acs = await postToAcs(t, samlResponse, request.relayState, { tenant, headers: JSON_ONLY });
  return followCompletion(t, acs, BROWSER, JSON_ONLY);
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
  // acme asks its IdP for a persistent NameID; globex asks for none, as before.
  const replaced = must(
    await t.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: {
        protocol: "saml",
        saml: { metadataXml: idp.metadataXml(), nameIdFormat: "persistent" },
      },
    }),
    200,
  );
  expect(replaced.json()).toMatchObject({ saml: { nameIdFormat: PERSISTENT } });
  auditor = await t.key(["tenant_auditor"], ["acme", "globex"]);
});

afterAll(async () => {
  await t.close();
});

describe("a registration that asks for a persistent NameID", () => {
  it("declares it in the SP metadata, where the IdP reads it", async () => {
    const { metadata, location } = await start("acme");
    const doc = new DOMParser().parseFromString(metadata, "text/xml");
    const formats = Array.from(doc.getElementsByTagNameNS(MD, "NameIDFormat"));
    expect(formats.map((f) => f.textContent)).toEqual([PERSISTENT]);
    expect((await idp.receiveAuthnRequest(metadata, location)).spNameIdFormats).toEqual([
      PERSISTENT,
    ]);
  });

  it("asks for it in the AuthnRequest's NameIDPolicy, with AllowCreate", async () => {
    const { location, metadata } = await start("acme");
    const policy = nameIdPolicyOf(location);
    expect(policy?.getAttribute("Format")).toBe(PERSISTENT);
    expect(policy?.getAttribute("AllowCreate")).toBe("true");
    expect((await idp.receiveAuthnRequest(metadata, location)).nameIdPolicy).toEqual({
      format: PERSISTENT,
      allowCreate: "true",
    });
  });

  it("signs in the user an answer of that Format names", async () => {
    const response = await signIn("acme", (asked) => asked);
    const location = new URL(must(response, 303).headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(returnTo("acme"));
    const id = location.searchParams.get("decision") ?? "";
    const receipt = must(await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey }), 200);
    expect(receipt.json<ReceiptRecord>()).toMatchObject({ outcome: "allow", principal: USER });
  });

  it("refuses an answer of another Format: saml.name_id_format_mismatch, audited, nothing decided", async () => {
    const refusedBefore = (await audit("acme", "federation.rejected")).length;
    const decidedBefore = (await audit("acme", "decision.recorded")).length;
    const response = await signIn("acme", () => EMAIL);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers.location).toBeUndefined();
    expect(response.json()).toMatchObject({
      code: "federation.rejected",
      details: { reason: "saml.name_id_format_mismatch" },
    });
    const refused = (await audit("acme", "federation.rejected")).slice(refusedBefore);
    expect(refused.map((e) => e.payload)).toMatchObject([
      { idp: "corp", protocol: "saml", reason: "saml.name_id_format_mismatch" },
    ]);
    expect(await audit("acme", "decision.recorded")).toHaveLength(decidedBefore);
  });
});

describe("a registration that asks for no Format", () => {
  it("declares none and asks none, and takes the Format the IdP sends", async () => {
    const { location, metadata } = await start("globex");
    expect(metadata).not.toContain("NameIDFormat");
    const policy = nameIdPolicyOf(location);
    expect(policy?.hasAttribute("Format")).toBe(false);
    expect(policy?.getAttribute("AllowCreate")).toBe("true");
    must(await signIn("globex", () => EMAIL), 303);
  });
});

describe("the registration through the admin API", () => {
  it("refuses a Format that is neither a known short name nor a URI (idp.invalid, 422)", async () => {
    const response = await t.call("PUT", "/v1/tenants/globex/idps/corp", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: { protocol: "saml", saml: { metadataXml: idp.metadataXml(), nameIdFormat: "email" } },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: "idp.invalid" });
  });

  it("shows it in the IdP's view and audits it", async () => {
    const view = must(await t.call("GET", "/v1/tenants/acme/idps/corp", { key: auditor }), 200);
    expect(view.json()).toMatchObject({ saml: { nameIdFormat: PERSISTENT } });
    const updated = await audit("acme", "idp.updated");
    expect(updated.map((e) => e.payload["nameIdFormat"])).toEqual([PERSISTENT]);
  });
});
