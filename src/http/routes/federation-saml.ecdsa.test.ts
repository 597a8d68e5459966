// Threat: an IdP that signs with ECDSA (checklist S10) either locked out, or let through with a
// signature that proves nothing: made by another key, over altered content, in the wrong encoding
// or with SHA-1, or checked with the wrong kind of key. SAML sign-in end to end through the HTTP
// server, the tenant's IdP registered from its own metadata, its EC certificate the only key.
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent, ReceiptRecord } from "../../app/records.js";
import { generateTestEcKeyPair } from "../../verifiers/saml/test-support/certificate.js";
import {
  ECDSA_SHA1,
  ECDSA_SHA256,
  resignAssertion,
  type SigningAlgorithms,
} from "../../verifiers/saml/test-support/sign.js";
import {
  DSIG,
  assertionOf,
  first,
  impersonate,
  signatureOf,
  tamper,
} from "../../verifiers/saml/test-support/tamper.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ALICE = "alice@example.org";
const returnTo = (tenant: string) => `https://app.${tenant}.example/signed-in`;

let t: TestServer;
/** acme's IdP: P-256, ecdsa-sha256. */
let p256: TestIdp;
/** globex's IdP: P-384, ecdsa-sha384. */
let p384: TestIdp;
let auditor: string;

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  p256 = new TestIdp({
    entityId: "https://idp.acme.example/saml",
    keyPair: generateTestEcKeyPair("acme idp", "prime256v1"),
  });
  p384 = new TestIdp({
    entityId: "https://idp.globex.example/saml",
    keyPair: generateTestEcKeyPair("globex idp", "secp384r1"),
    signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
  });
  for (const [tenant, idp] of [
    ["acme", p256],
    ["globex", p384],
  ] as const) {
    await registerSamlTenant(t, idp, tenant, {
      posture: "idp_mfa",
      returnUrls: [returnTo(tenant)],
    });
  }
  auditor = await t.key(["tenant_auditor"], ["acme", "globex"]);
});
afterAll(() => t.close());

async function decided(response: LightMyRequestResponse): Promise<ReceiptRecord> {
  const location = new URL(String(must(response, 303).headers.location));
  const id = location.searchParams.get("decision") ?? "";
  return must(await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey }), 200).json();
}

async function lastRefusal(tenant: string): Promise<AuditEvent | undefined> {
  const response = await t.call(
    "GET",
    `/v1/tenants/${tenant}/audit?type=federation.rejected&limit=500`,
    { key: auditor },
  );
  return must(response, 200).json<{ items: AuditEvent[] }>().items.at(-1);
}

describe("SAML sign-in at an IdP that signs with ECDSA", () => {
  it.each([
    ["acme", "P-256, ecdsa-sha256, the assertion signed", {}],
    ["globex", "P-384, ecdsa-sha384, the assertion signed", {}],
    ["acme", "P-256, ecdsa-sha256, the Response and the assertion signed", { signResponse: true }],
    [
      "globex",
      "P-384, ecdsa-sha384, the Response and the assertion signed",
      { signResponse: true },
    ],
  ] as const)("%s: allows with the IdP's verified MFA (%s)", async (tenant, _what, shape) => {
    const idp = tenant === "acme" ? p256 : p384;
    const { acs, cookie } = await answerAtAcs(
      t,
      idp,
      returnTo(tenant),
      { nameId: ALICE, authnContextClassRef: REFEDS_MFA },
      tenant,
      { shape },
    );
    const receipt = await decided(await followCompletion(t, acs, cookie));
    expect(receipt.outcome).toBe("allow");
    expect(receipt.principal).toBe(ALICE);
    expect((receipt.inputSummary["events"] as unknown[])[0]).toMatchObject({
      method: "federated",
      idp: "corp",
      claims: { issuer: idp.entityId, authnContextClassRefs: [REFEDS_MFA] },
    });
  });
});

/** acme's answer, its assertion signed again by `privateKeyPem` with `algorithms`. */
const resignedBy =
  (privateKeyPem: () => string, algorithms: SigningAlgorithms) => (samlResponse: string) =>
    resignAssertion(samlResponse, privateKeyPem(), undefined, algorithms);

/** acme's answer with its assertion's SignatureValue bytes changed by `change`. */
const signatureValue = (change: (value: Buffer) => Buffer) => (samlResponse: string) =>
  tamper(samlResponse, (doc) => {
    const value = first(signatureOf(assertionOf(doc)), DSIG, "SignatureValue");
    value.textContent = change(Buffer.from(value.textContent ?? "", "base64")).toString("base64");
  });

const attacker = generateTestEcKeyPair("attacker");

describe("ECDSA answers refused at the ACS, and audited", () => {
  it.each([
    [
      "an assertion altered after the IdP signed it",
      (samlResponse: string) =>
        tamper(samlResponse, (doc) => {
          impersonate(assertionOf(doc));
        }),
      "saml.signature_invalid",
    ],
    [
      "a signature by another P-256 key, its certificate in KeyInfo",
      resignedBy(() => attacker.privateKeyPem, {
        signature: ECDSA_SHA256,
        keyInfoCertificate: attacker.certificatePem,
      }),
      "saml.signature_invalid",
    ],
    [
      "the IdP key's signature in DER instead of r‖s",
      resignedBy(() => p256.keyPair.privateKeyPem, {
        signature: ECDSA_SHA256,
        ecdsaEncoding: "der",
      }),
      "saml.signature_invalid",
    ],
    [
      "a signature value cut short",
      signatureValue((value) => value.subarray(0, value.length - 2)),
      "saml.signature_invalid",
    ],
    [
      "ecdsa-sha1 by the IdP's key",
      resignedBy(() => p256.keyPair.privateKeyPem, { signature: ECDSA_SHA1 }),
      "saml.signature_algorithm",
    ],
    [
      "rsa-sha256 by the IdP's EC key (a DER ECDSA value node's RSA verifier would check)",
      resignedBy(() => p256.keyPair.privateKeyPem, { signature: RSA_SHA256 }),
      "saml.signature_algorithm",
    ],
  ])("refuses %s", async (_what, edit, reason) => {
    const { acs } = await answerAtAcs(
      t,
      p256,
      returnTo("acme"),
      { nameId: ALICE, authnContextClassRef: REFEDS_MFA },
      "acme",
      { edit },
    );
    expect(acs.statusCode).toBe(400);
    expect(await lastRefusal("acme")).toMatchObject({
      payload: { idp: "corp", protocol: "saml", reason },
    });
  });
});
