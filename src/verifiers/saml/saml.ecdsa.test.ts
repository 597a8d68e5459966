/**
 * Threat: an ECDSA signature accepted without proving the registered IdP signed (checklist S9,
 * S10): made by another key, over altered content, encoded otherwise than XML-DSig says (r‖s,
 * XML-DSig 1.1 §6.4.3), with SHA-1, or checked by an RSA verifier that node lets take an EC key.
 * The test IdP signs with xml-crypto and node's ECDSA, apart from the verifier's code.
 */
import { DOMParser } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import { describe, expect, it } from "vitest";
import { generateTestEcKeyPair, type TestCurve } from "./test-support/certificate.js";
import {
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import {
  ECDSA_SHA1,
  ECDSA_SHA256,
  ECDSA_SHA384,
  ECDSA_SHA512,
  resignAssertion,
  type SigningAlgorithms,
} from "./test-support/sign.js";
import {
  DSIG,
  assertionOf,
  decode,
  first,
  impersonate,
  responseOf,
  signatureOf,
  tamper,
} from "./test-support/tamper.js";
import { TestIdp } from "./test-support/test-idp.js";

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ENTITY_ID = "https://idp.ecdsa.example/saml";

/** One EC IdP per curve, made when first asked for (key generation is not free). */
const ecIdps = new Map<TestCurve, TestIdp>();
function ecIdp(curve: TestCurve = "prime256v1"): TestIdp {
  let idp = ecIdps.get(curve);
  if (idp === undefined) {
    idp = new TestIdp({ entityId: ENTITY_ID, keyPair: generateTestEcKeyPair("ec idp", curve) });
    ecIdps.set(curve, idp);
  }
  return idp;
}

/** The EC IdP's genuine answer, its assertion signed anew by `privateKeyPem` with `algorithms`. */
async function resigned(privateKeyPem: string, algorithms: SigningAlgorithms): Promise<string> {
  return resignAssertion(await idpResponse({}, {}, ecIdp()), privateKeyPem, undefined, algorithms);
}

async function rejectionOf(samlResponse: string, idp: TestIdp) {
  const result = await protocol.verifyResponse(SP, idp.settings(), verification(samlResponse));
  return result.ok ? undefined : result.rejection;
}

function signatureMethodOf(samlResponse: string): string | null {
  const doc = new DOMParser().parseFromString(decode(samlResponse), "text/xml");
  return first(signatureOf(assertionOf(doc)), DSIG, "SignatureMethod").getAttribute("Algorithm");
}

describe("ECDSA-signed responses from a registered EC IdP (S10)", () => {
  it.each([
    ["P-256", "ecdsa-sha256", "prime256v1", ECDSA_SHA256],
    ["P-384", "ecdsa-sha384", "secp384r1", ECDSA_SHA384],
    ["P-521", "ecdsa-sha512", "secp521r1", ECDSA_SHA512],
  ] as const)(
    "accepts an assertion signed on %s with %s, reading the signed identity",
    async (_curveName, _algorithmName, curve, algorithm) => {
      const idp = new TestIdp({
        entityId: ENTITY_ID,
        keyPair: ecIdp(curve).keyPair,
        signatureAlgorithm: algorithm,
      });
      const response = await idpResponse({ nameId: "bob@example.org" }, {}, idp);
      expect(signatureMethodOf(response)).toBe(algorithm);
      const result = await protocol.verifyResponse(SP, idp.settings(), verification(response));
      expect(result.ok && result.value.subject).toBe("bob@example.org");
    },
  );

  it("accepts ecdsa-sha512 made with a P-256 key: the hash is the algorithm's, not the curve's", async () => {
    const idp = ecIdp();
    const response = await resigned(idp.keyPair.privateKeyPem, { signature: ECDSA_SHA512 });
    expect(await outcomeOf(response, {}, idp)).toBe("ok");
  });

  it("accepts a response whose Response and assertion are both ECDSA-signed", async () => {
    const response = await idpResponse({}, { signResponse: true }, ecIdp());
    const xml = decode(response);
    expect(xml.match(/<ds:SignatureMethod Algorithm="[^"]*ecdsa-sha256"\/>/g)).toHaveLength(2);
    expect(await outcomeOf(response, {}, ecIdp())).toBe("ok");
  });

  it("accepts both during a key rotation from RSA to EC, each verified with its own key", async () => {
    const settings = ecIdp().settings({
      signingCertificates: [testIdp().keyPair.certificatePem, ecIdp().keyPair.certificatePem],
    });
    const rsa = resignAssertion(
      await idpResponse({}, {}, ecIdp()),
      testIdp().keyPair.privateKeyPem,
    );
    const ec = await idpResponse({}, {}, ecIdp());
    for (const response of [rsa, ec]) {
      const result = await protocol.verifyResponse(SP, settings, verification(response));
      expect(result.ok).toBe(true);
    }
  });
});

describe("ECDSA signatures refused", () => {
  it("refuses an assertion altered after the IdP signed it", async () => {
    const edited = tamper(await idpResponse({}, {}, ecIdp()), (doc) => {
      impersonate(assertionOf(doc));
    });
    expect(await outcomeOf(edited, {}, ecIdp())).toBe("saml.signature_invalid");
  });

  it("refuses a Response altered after the IdP ECDSA-signed it, its assertion untouched", async () => {
    const edited = tamper(await idpResponse({}, { signResponse: true }, ecIdp()), (doc) => {
      responseOf(doc).setAttribute("IssueInstant", "2026-03-02T09:59:00.000Z");
    });
    expect(await outcomeOf(edited, {}, ecIdp())).toBe("saml.signature_invalid");
  });

  it("refuses an ECDSA signature with one bit of r‖s flipped", async () => {
    const edited = tamper(await idpResponse({}, {}, ecIdp()), (doc) => {
      const value = first(signatureOf(assertionOf(doc)), DSIG, "SignatureValue");
      const bytes = Buffer.from(value.textContent ?? "", "base64");
      bytes[40] = (bytes[40] ?? 0) ^ 1;
      value.textContent = bytes.toString("base64");
    });
    expect(await outcomeOf(edited, {}, ecIdp())).toBe("saml.signature_invalid");
  });

  it("refuses a signature by another EC key on the same curve, its certificate in KeyInfo", async () => {
    const attacker = generateTestEcKeyPair("attacker");
    const forged = await resigned(attacker.privateKeyPem, {
      signature: ECDSA_SHA256,
      keyInfoCertificate: attacker.certificatePem,
    });
    expect(decode(forged)).toContain(attacker.certificateBase64);
    expect(
      await outcomeOf(forged, {}, new TestIdp({ entityId: ENTITY_ID, keyPair: attacker })),
    ).toBe("ok");
    expect(await outcomeOf(forged, {}, ecIdp())).toBe("saml.signature_invalid");
  });

  it("refuses the registered key's signature encoded in DER instead of r‖s", async () => {
    const key = ecIdp().keyPair.privateKeyPem;
    expect(await outcomeOf(await resigned(key, { signature: ECDSA_SHA256 }), {}, ecIdp())).toBe(
      "ok",
    );
    const der = await resigned(key, { signature: ECDSA_SHA256, ecdsaEncoding: "der" });
    const value = first(
      signatureOf(assertionOf(new DOMParser().parseFromString(decode(der), "text/xml"))),
      DSIG,
      "SignatureValue",
    ).textContent;
    expect(Buffer.from(value ?? "", "base64")[0]).toBe(0x30); // an ASN.1 SEQUENCE
    expect(await outcomeOf(der, {}, ecIdp())).toBe("saml.signature_invalid");
  });

  it("refuses ecdsa-sha1 made by the registered key", async () => {
    const sha1 = await resigned(ecIdp().keyPair.privateKeyPem, { signature: ECDSA_SHA1 });
    expect(signatureMethodOf(sha1)).toBe(ECDSA_SHA1);
    expect(await outcomeOf(sha1, {}, ecIdp())).toBe("saml.signature_algorithm");
  });

  it.each([
    ["cut short by three bytes", (value: Buffer) => value.subarray(0, value.length - 3)],
    ["cut to r alone", (value: Buffer) => value.subarray(0, value.length / 2)],
    ["with a byte added", (value: Buffer) => Buffer.concat([value, Buffer.from([0])])],
    ["empty of all but one byte", (value: Buffer) => value.subarray(0, 1)],
  ])("refuses the registered key's signature value %s", async (_name, edit) => {
    const edited = tamper(await idpResponse({}, {}, ecIdp()), (doc) => {
      const value = first(signatureOf(assertionOf(doc)), DSIG, "SignatureValue");
      value.textContent = edit(Buffer.from(value.textContent ?? "", "base64")).toString("base64");
    });
    expect(await outcomeOf(edited, {}, ecIdp())).toBe("saml.signature_invalid");
  });

  it("refuses a signature value that is not plain base64", async () => {
    const edited = tamper(await idpResponse({}, {}, ecIdp()), (doc) => {
      const value = first(signatureOf(assertionOf(doc)), DSIG, "SignatureValue");
      // Buffer.from(…, "base64") skips the "!" and would read the genuine r‖s.
      value.textContent = `${(value.textContent ?? "").slice(0, 8)}!${(value.textContent ?? "").slice(8)}`;
    });
    expect(await outcomeOf(edited, {}, ecIdp())).toBe("saml.signature_invalid");
  });

  // node's RSA-SHA256 verifier given an EC key checks a DER ECDSA signature: xml-crypto's
  // rsa-sha256 class would accept what the EC key signed under that label.
  it("refuses rsa-sha256 signed by the registered EC key, which xml-crypto alone accepts", async () => {
    const confused = await resigned(ecIdp().keyPair.privateKeyPem, { signature: RSA_SHA256 });
    const library = new SignedXml({ publicCert: ecIdp().keyPair.certificatePem });
    const doc = new DOMParser().parseFromString(decode(confused), "text/xml");
    library.loadSignature(
      signatureOf(assertionOf(doc)) as unknown as Parameters<SignedXml["loadSignature"]>[0],
    );
    expect(library.checkSignature(decode(confused))).toBe(true);
    expect(await rejectionOf(confused, ecIdp())).toEqual({
      code: "saml.signature_algorithm",
      detail: "an RSA signature, and no registered certificate holds an RSA key",
    });
  });

  it("refuses an ECDSA signature from an IdP registered with an RSA key, naming why", async () => {
    const ecdsa = resignAssertion(await idpResponse(), ecIdp().keyPair.privateKeyPem, undefined, {
      signature: ECDSA_SHA256,
    });
    expect(await rejectionOf(ecdsa, testIdp())).toEqual({
      code: "saml.signature_algorithm",
      detail: "an ECDSA signature, and no registered certificate holds an EC key",
    });
  });

  it("refuses an RSA key's signature labelled ecdsa-sha256 against the EC registration", async () => {
    // Node's ECDSA signer given an RSA key makes an RSA signature under the ECDSA label.
    const labelled = await resigned(testIdp().keyPair.privateKeyPem, { signature: ECDSA_SHA256 });
    expect(signatureMethodOf(labelled)).toBe(ECDSA_SHA256);
    expect(await outcomeOf(labelled, {}, ecIdp())).toBe("saml.signature_invalid");
  });
});

// xml-crypto reads the first SignatureMethod, CanonicalizationMethod and SignatureValue anywhere
// in the Signature (by local name), the verifier the ones in SignedInfo: an unsigned KeyInfo put
// first could pick the class, and the rsa-sha256 class given the EC key checks DER ECDSA.
describe("algorithms xml-crypto would read outside SignedInfo", () => {
  /** Puts a KeyInfo (never signed) before SignedInfo, holding `method`. */
  function keyInfoFirst(samlResponse: string, localName: string, algorithm: string): string {
    return tamper(samlResponse, (doc) => {
      const signature = signatureOf(assertionOf(doc));
      const keyInfo = doc.createElementNS(DSIG, "ds:KeyInfo");
      const method = doc.createElementNS(DSIG, `ds:${localName}`);
      method.setAttribute("Algorithm", algorithm);
      keyInfo.appendChild(method);
      signature.insertBefore(keyInfo, signature.firstChild);
    });
  }

  it("refuses a DER value under ecdsa-sha256 with an rsa-sha256 SignatureMethod in a KeyInfo before SignedInfo", async () => {
    const key = ecIdp().keyPair.privateKeyPem;
    const der = await resigned(key, { signature: ECDSA_SHA256, ecdsaEncoding: "der" });
    expect(await outcomeOf(der, {}, ecIdp())).toBe("saml.signature_invalid");
    const relabelled = keyInfoFirst(der, "SignatureMethod", RSA_SHA256);
    expect(await outcomeOf(relabelled, {}, ecIdp())).toBe("saml.signature_wrapping");
  });

  it("refuses a genuine signature with another CanonicalizationMethod in a KeyInfo before SignedInfo", async () => {
    const genuine = await idpResponse({}, {}, ecIdp());
    const edited = keyInfoFirst(
      genuine,
      "CanonicalizationMethod",
      "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    );
    expect(await outcomeOf(edited, {}, ecIdp())).toBe("saml.signature_wrapping");
  });
});
