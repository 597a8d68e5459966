import { KeyObject, constants, createHash, verify } from "node:crypto";
import type { HashAlgorithm, SignatureAlgorithm } from "xml-crypto";
import { RSA_SHA384, SHA384 } from "./saml-names.js";
import { signatureBytes, verifyOnlyAlgorithm } from "./verify-only.js";

/**
 * Whether `signatureValue` is `key`'s RSASSA-PKCS1-v1_5 signature of `material` with SHA-384
 * (RFC 6931 §2.3.3). Only an RSA KeyObject, a registered certificate's, verifies: node's verify
 * given an EC key would check a DER ECDSA signature instead, whatever the URI says. The value
 * is exactly as long as the modulus (RFC 8017 §8.2.2), as xml-crypto's RSA classes leave to
 * OpenSSL.
 */
function verifyRsaSha384(material: string, key: unknown, signatureValue: string): boolean {
  if (!(key instanceof KeyObject) || key.asymmetricKeyType !== "rsa") return false;
  const modulusBits = key.asymmetricKeyDetails?.modulusLength;
  const signature = signatureBytes(signatureValue);
  if (modulusBits === undefined || signature?.length !== Math.ceil(modulusBits / 8)) return false;
  return verify(
    "sha384",
    Buffer.from(material, "utf8"),
    { key, padding: constants.RSA_PKCS1_PADDING },
    signature,
  );
}

/** rsa-sha384, which xml-crypto 6 lacks, for a SignedXml's `SignatureAlgorithms`: verify only. */
export const RSA_SHA384_ALGORITHM: new () => SignatureAlgorithm = verifyOnlyAlgorithm(
  RSA_SHA384,
  verifyRsaSha384,
);

/** The SHA-384 digest (RFC 6931 §2.1.3), which xml-crypto 6 lacks, for its `HashAlgorithms`. */
export const SHA384_DIGEST: new () => HashAlgorithm = class implements HashAlgorithm {
  getHash(xml: string): string {
    return createHash("sha384").update(xml, "utf8").digest("base64");
  }
  getAlgorithmName(): string {
    return SHA384;
  }
};
