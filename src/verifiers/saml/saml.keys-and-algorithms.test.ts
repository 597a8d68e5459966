/**
 * Threat: a signature that verifies, but not with the tenant's IdP key or not with an algorithm
 * we trust (checklist S9, S10; CVE-2024-32962). KeyInfo is never consulted.
 */
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import {
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { resignAssertion, signWithReferences } from "./test-support/sign.js";
import {
  DSIG,
  assertionOf,
  decode,
  encode,
  first,
  responseOf,
  signatureOf,
  tamper,
} from "./test-support/tamper.js";
import { RSA_SHA1, TestIdp } from "./test-support/test-idp.js";

const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const INCLUSIVE_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";

/** The genuine response, its Response signed as well by `privateKeyPem` with `signature`. */
async function withResponseSignedBy(privateKeyPem: string, signature?: string): Promise<string> {
  const genuine = decode(await idpResponse());
  const id = responseOf(new DOMParser().parseFromString(genuine, "text/xml")).getAttribute("ID");
  const algorithms = signature === undefined ? {} : { signature };
  return encode(signWithReferences(genuine, privateKeyPem, id ?? "", [id ?? ""], algorithms));
}

describe("keys (S9)", () => {
  it("refuses a response re-signed by an attacker key with its certificate in KeyInfo", async () => {
    // Same entity id as the registered IdP, a different key pair: samlify embeds its cert.
    const attacker = new TestIdp({ entityId: testIdp().entityId });
    const forged = await idpResponse({}, {}, attacker);
    expect(Buffer.from(forged, "base64").toString()).toContain(attacker.keyPair.certificateBase64);
    expect(await outcomeOf(forged)).toBe("saml.signature_invalid");
  });

  it("refuses a response from another tenant's IdP, signed with its own valid key", async () => {
    const foreign = new TestIdp({ entityId: "https://idp.other-tenant.example/saml" });
    const response = await idpResponse({}, {}, foreign);
    expect(await outcomeOf(response, {}, foreign)).toBe("ok");
    expect(await outcomeOf(response)).toBe("saml.signature_invalid");
  });

  it("accepts a response when the IdP's key is one of several registered", async () => {
    const other = new TestIdp({ entityId: testIdp().entityId });
    const response = await idpResponse();
    const idp = testIdp();
    const result = await protocol.verifyResponse(
      SP,
      idp.settings({
        signingCertificates: [other.keyPair.certificateBase64, idp.keyPair.certificateBase64],
      }),
      verification(response),
    );
    expect(result.ok).toBe(true);
  });

  it("refuses a Response signed by another key around the IdP's genuinely signed assertion", async () => {
    const idpKey = testIdp().keyPair.privateKeyPem;
    // The same Response signature made with the IdP's key is accepted.
    expect(await outcomeOf(await withResponseSignedBy(idpKey))).toBe("ok");
    const attacker = new TestIdp({ entityId: testIdp().entityId }).keyPair.privateKeyPem;
    expect(await outcomeOf(await withResponseSignedBy(attacker))).toBe("saml.signature_invalid");
  });
});

describe("algorithm allow-list (S10)", () => {
  it("refuses an rsa-sha1 signature made by the registered IdP", async () => {
    const sha1Idp = new TestIdp({ keyPair: testIdp().keyPair, signatureAlgorithm: RSA_SHA1 });
    const response = await idpResponse({}, {}, sha1Idp);
    expect(Buffer.from(response, "base64").toString()).toContain(RSA_SHA1);
    expect(await outcomeOf(response)).toBe("saml.signature_algorithm");
  });

  it("refuses rsa-sha1 as the signature method, though the digest is SHA-256", async () => {
    // The samlify IdP above signs rsa-sha1 with a SHA-1 digest, which the digest check alone
    // refuses; here the IdP's key signs an rsa-sha1 SignedInfo over a SHA-256 digest.
    const key = testIdp().keyPair.privateKeyPem;
    expect(await outcomeOf(resignAssertion(await idpResponse(), key))).toBe("ok");
    const sha1 = resignAssertion(await idpResponse(), key, undefined, { signature: RSA_SHA1 });
    expect(decode(sha1)).toContain(`<ds:SignatureMethod Algorithm="${RSA_SHA1}"/>`);
    expect(decode(sha1)).toContain(`<ds:DigestMethod Algorithm="${SHA256}"/>`);
    expect(await outcomeOf(sha1)).toBe("saml.signature_algorithm");
  });

  it("refuses rsa-sha1 on the Response signature, though the assertion's is rsa-sha256", async () => {
    const sha1 = await withResponseSignedBy(testIdp().keyPair.privateKeyPem, RSA_SHA1);
    expect(decode(sha1)).toContain(`<ds:SignatureMethod Algorithm="${RSA_SHA1}"/>`);
    expect(await outcomeOf(sha1)).toBe("saml.signature_algorithm");
  });

  for (const [name, canonicalization] of [
    ["exc-c14n #WithComments", `${EXC_C14N}WithComments`],
    ["inclusive c14n 1.0", INCLUSIVE_C14N],
  ] as const) {
    it(`refuses a SignedInfo canonicalised with ${name}, signed by the IdP's key`, async () => {
      const key = testIdp().keyPair.privateKeyPem;
      const response = resignAssertion(await idpResponse(), key, undefined, { canonicalization });
      expect(decode(response)).toContain(
        `<ds:CanonicalizationMethod Algorithm="${canonicalization}"/>`,
      );
      expect(await outcomeOf(response)).toBe("saml.signature_algorithm");
    });
  }

  it("refuses a reference canonicalised #WithComments", async () => {
    const response = await idpResponse({}, { transforms: [ENVELOPED, `${EXC_C14N}WithComments`] });
    expect(await outcomeOf(response)).toBe("saml.signature_algorithm");
  });

  it("refuses more than two transforms", async () => {
    const response = await idpResponse({}, { transforms: [ENVELOPED, EXC_C14N, EXC_C14N] });
    expect(await outcomeOf(response)).toBe("saml.signature_algorithm");
  });

  it("refuses an XSLT transform", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const transform = first(signatureOf(assertionOf(doc)), DSIG, "Transform");
      transform.setAttribute("Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116");
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_algorithm");
  });

  it("refuses an HMAC signature method", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const method = first(signatureOf(assertionOf(doc)), DSIG, "SignatureMethod");
      method.setAttribute("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1");
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_algorithm");
  });

  it("refuses a SHA-1 digest", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const method = first(signatureOf(assertionOf(doc)), DSIG, "DigestMethod");
      method.setAttribute("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1");
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_algorithm");
  });
});
