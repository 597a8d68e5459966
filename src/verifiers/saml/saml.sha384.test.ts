/**
 * Threat: the SHA-384 algorithms S10 allows, which xml-crypto 6 lacks and the verifier adds
 * (rsa-sha384, the xmldsig-more#sha384 digest), accepting what the registered IdP did not sign:
 * altered content, another key's signature, or an EC key's signature labelled rsa-sha384. And an
 * IdP that signs with them refused as if its algorithm were weak. The test IdP signs with
 * xml-crypto and node's crypto, apart from the verifier's code.
 */
import { createPublicKey, sign } from "node:crypto";
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { RSA_SHA384_ALGORITHM, SHA384_DIGEST } from "./sha384.js";
import { verifySignedReference } from "./signature.js";
import { generateTestEcKeyPair, generateTestKeyPair } from "./test-support/certificate.js";
import {
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import {
  ECDSA_SHA384,
  RSA_SHA384,
  SHA1,
  SHA384,
  resignAssertion,
  resignResponse,
  type SigningAlgorithms,
} from "./test-support/sign.js";
import { assertionOf, decode, impersonate, signatureOf, tamper } from "./test-support/tamper.js";
import { TestIdp } from "./test-support/test-idp.js";

const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const P384_ENTITY_ID = "https://idp.p384.example/saml";

let p384: TestIdp | undefined;
/** An IdP with a P-384 key, made when first asked for. */
function p384Idp(): TestIdp {
  p384 ??= new TestIdp({
    entityId: P384_ENTITY_ID,
    keyPair: generateTestEcKeyPair("p-384 idp", "secp384r1"),
    signatureAlgorithm: ECDSA_SHA384,
  });
  return p384;
}

/** `idp`'s genuine answer for bob, its assertion signed anew by `privateKeyPem`. */
async function resigned(
  idp: TestIdp,
  privateKeyPem: string,
  algorithms: SigningAlgorithms,
): Promise<string> {
  const response = await idpResponse({ nameId: "bob@example.org" }, {}, idp);
  return resignAssertion(response, privateKeyPem, undefined, algorithms);
}

async function subjectOf(samlResponse: string, idp: TestIdp): Promise<string | undefined> {
  const result = await protocol.verifyResponse(SP, idp.settings(), verification(samlResponse));
  return result.ok ? result.value.subject : undefined;
}

describe("SHA-384 signatures and digests from the registered IdP (S10)", () => {
  it.each([
    ["a SHA-256", SHA256],
    ["a SHA-384", SHA384],
  ])("accepts rsa-sha384 over %s digest, reading the signed identity", async (_name, digest) => {
    const response = await resigned(testIdp(), testIdp().keyPair.privateKeyPem, {
      signature: RSA_SHA384,
      digest,
    });
    expect(decode(response)).toContain(`<ds:SignatureMethod Algorithm="${RSA_SHA384}"/>`);
    expect(decode(response)).toContain(`<ds:DigestMethod Algorithm="${digest}"/>`);
    expect(await subjectOf(response, testIdp())).toBe("bob@example.org");
  });

  it("accepts ecdsa-sha384 over a SHA-384 digest from a P-384 IdP", async () => {
    const response = await resigned(p384Idp(), p384Idp().keyPair.privateKeyPem, {
      signature: ECDSA_SHA384,
      digest: SHA384,
    });
    expect(decode(response)).toContain(`<ds:DigestMethod Algorithm="${SHA384}"/>`);
    expect(await subjectOf(response, p384Idp())).toBe("bob@example.org");
  });

  it("accepts a Response and assertion both signed rsa-sha384 over SHA-384 digests", async () => {
    const response = resignResponse(
      await idpResponse({}, { signResponse: true }),
      testIdp().keyPair.privateKeyPem,
      { assertion: true, response: true },
      { signature: RSA_SHA384, digest: SHA384 },
    );
    expect(
      decode(response).match(/<ds:SignatureMethod Algorithm="[^"]*rsa-sha384"\/>/g),
    ).toHaveLength(2);
    expect(await outcomeOf(response)).toBe("ok");
  });
});

describe("SHA-384 signatures and digests refused", () => {
  it("refuses an rsa-sha384 assertion altered after the IdP signed it", async () => {
    const signed = await resigned(testIdp(), testIdp().keyPair.privateKeyPem, {
      signature: RSA_SHA384,
      digest: SHA384,
    });
    const edited = tamper(signed, (doc) => {
      impersonate(assertionOf(doc));
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_invalid");
  });

  it("refuses an ecdsa-sha384 assertion over a SHA-384 digest altered after signing", async () => {
    const signed = await resigned(p384Idp(), p384Idp().keyPair.privateKeyPem, {
      signature: ECDSA_SHA384,
      digest: SHA384,
    });
    const edited = tamper(signed, (doc) => {
      impersonate(assertionOf(doc));
    });
    expect(await outcomeOf(edited, {}, p384Idp())).toBe("saml.signature_invalid");
  });

  it("refuses rsa-sha384 by another RSA key, its certificate in KeyInfo", async () => {
    const attacker = generateTestKeyPair("attacker");
    const forged = await resigned(testIdp(), attacker.privateKeyPem, {
      signature: RSA_SHA384,
      digest: SHA384,
      keyInfoCertificate: attacker.certificatePem,
    });
    expect(decode(forged)).toContain(attacker.certificateBase64);
    const attackerIdp = new TestIdp({ entityId: testIdp().entityId, keyPair: attacker });
    expect(await outcomeOf(forged, {}, attackerIdp)).toBe("ok");
    expect(await outcomeOf(forged)).toBe("saml.signature_invalid");
  });

  it("refuses ecdsa-sha384 by another P-384 key", async () => {
    const attacker = generateTestEcKeyPair("attacker", "secp384r1");
    const forged = await resigned(p384Idp(), attacker.privateKeyPem, {
      signature: ECDSA_SHA384,
      digest: SHA384,
    });
    expect(await outcomeOf(forged, {}, p384Idp())).toBe("saml.signature_invalid");
  });

  it("refuses rsa-sha384 signed by the registered EC key: no RSA key is registered", async () => {
    // Node's signer given an EC key makes a DER ECDSA signature under the RSA label.
    const confused = await resigned(p384Idp(), p384Idp().keyPair.privateKeyPem, {
      signature: RSA_SHA384,
    });
    const result = await protocol.verifyResponse(SP, p384Idp().settings(), verification(confused));
    expect(result.ok ? undefined : result.rejection).toEqual({
      code: "saml.signature_algorithm",
      detail: "an RSA signature, and no registered certificate holds an RSA key",
    });
  });

  it("verifies rsa-sha384 with an RSA key only, never node's ECDSA check of an EC key", () => {
    // What signature.ts's key filter keeps from it; the class refuses on its own as well.
    const ec = generateTestEcKeyPair("ec", "secp384r1");
    const material = "<ds:SignedInfo/>";
    const der = sign("sha384", Buffer.from(material), ec.privateKeyPem).toString("base64");
    const algorithm = new RSA_SHA384_ALGORITHM();
    const key = createPublicKey(ec.certificatePem);
    expect(algorithm.verifySignature(material, key, der)).toBe(false);
    const rsa = generateTestKeyPair("rsa");
    const genuine = sign("sha384", Buffer.from(material), rsa.privateKeyPem).toString("base64");
    expect(algorithm.verifySignature(material, createPublicKey(rsa.certificatePem), genuine)).toBe(
      true,
    );
    // A PEM string is not a pinned key: only a KeyObject from a registered certificate is.
    expect(algorithm.verifySignature(material, rsa.certificatePem, genuine)).toBe(false);
    expect(new SHA384_DIGEST().getAlgorithmName()).toBe(SHA384);
  });

  it("refuses a SHA-1 digest the IdP's key honestly signed over with rsa-sha384", async () => {
    const sha1 = await resigned(testIdp(), testIdp().keyPair.privateKeyPem, {
      signature: RSA_SHA384,
      digest: SHA1,
    });
    expect(decode(sha1)).toContain(`<ds:DigestMethod Algorithm="${SHA1}"/>`);
    expect(await outcomeOf(sha1)).toBe("saml.signature_algorithm");
  });

  it("knows no SHA-1 digest in the signature library, whatever the shape check let through", async () => {
    // verifySignedReference on its own, as if checkSignatureShape had missed the digest;
    // rsa-sha256, which the library itself verifies, so that only the digest is refused.
    const sha1 = await resigned(testIdp(), testIdp().keyPair.privateKeyPem, { digest: SHA1 });
    const xml = decode(sha1);
    const signature = signatureOf(assertionOf(new DOMParser().parseFromString(xml, "text/xml")));
    const key = createPublicKey(testIdp().keyPair.certificatePem);
    const result = verifySignedReference(xml, signature, [key]);
    expect(result.ok ? undefined : result.rejection.code).toBe("saml.signature_algorithm");
  });
});
