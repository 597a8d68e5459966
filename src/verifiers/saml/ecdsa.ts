import { KeyObject, verify } from "node:crypto";
import type { SignatureAlgorithm } from "xml-crypto";
import { ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512 } from "./saml-names.js";
import { signatureBytes, verifyOnlyAlgorithm } from "./verify-only.js";

/**
 * The curves an IdP's ECDSA key may be on (node's names for NIST P-256, P-384, P-521) and the
 * length of a signature on each: r and s, each as long as the curve's order (XML-DSig 1.1
 * §6.4.3). Registration accepts the same curves.
 */
const SIGNATURE_LENGTHS: ReadonlyMap<string, number> = new Map([
  ["prime256v1", 64],
  ["secp384r1", 96],
  ["secp521r1", 132],
]);

/**
 * Whether `signatureValue` is `key`'s ECDSA signature of `material` with `hash`. The value is the
 * raw r‖s concatenation XML-DSig specifies (RFC 4050 §3.3, RFC 6931 §2.3.6), never DER: a value
 * of any other length, or a key that is not EC on an accepted curve, is not a signature.
 */
function verifyEcdsa(hash: string, material: string, key: unknown, signatureValue: string) {
  if (!(key instanceof KeyObject) || key.asymmetricKeyType !== "ec") return false;
  const length = SIGNATURE_LENGTHS.get(key.asymmetricKeyDetails?.namedCurve ?? "");
  const signature = signatureBytes(signatureValue);
  if (length === undefined || signature?.length !== length) return false;
  return verify(hash, Buffer.from(material, "utf8"), { key, dsaEncoding: "ieee-p1363" }, signature);
}

/** One verify-only xml-crypto class per ECDSA algorithm. */
function ecdsaAlgorithm(uri: string, hash: string): new () => SignatureAlgorithm {
  return verifyOnlyAlgorithm(uri, (material, key, signatureValue) =>
    verifyEcdsa(hash, material, key, signatureValue),
  );
}

/** The ECDSA signature algorithms xml-crypto 6 lacks, for a SignedXml's `SignatureAlgorithms`. */
export const ECDSA_ALGORITHMS: Readonly<Record<string, new () => SignatureAlgorithm>> = {
  [ECDSA_SHA256]: ecdsaAlgorithm(ECDSA_SHA256, "sha256"),
  [ECDSA_SHA384]: ecdsaAlgorithm(ECDSA_SHA384, "sha384"),
  [ECDSA_SHA512]: ecdsaAlgorithm(ECDSA_SHA512, "sha512"),
};
