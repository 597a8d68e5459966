import type { SignatureAlgorithm } from "xml-crypto";

/** Plain base64 (XML may wrap it), nothing Buffer.from would skip over silently. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of a SignatureValue's text, or undefined when it is not plain base64. */
export function signatureBytes(signatureValue: string): Buffer | undefined {
  const text = signatureValue.replace(/[ \t\r\n]/g, "");
  return BASE64.test(text) ? Buffer.from(text, "base64") : undefined;
}

/**
 * One xml-crypto signature algorithm class (it makes them with `new`, no argument) that only
 * verifies, with `verifySignature`: `key` is what SignedXml holds, the pinned KeyObject.
 */
export function verifyOnlyAlgorithm(
  uri: string,
  verifySignature: (material: string, key: unknown, signatureValue: string) => boolean,
): new () => SignatureAlgorithm {
  return class implements SignatureAlgorithm {
    getSignature(): never {
      throw new Error("tenant-mfa verifies SAML signatures, it never makes them");
    }
    // xml-crypto's checkSignature calls the synchronous form only.
    verifySignature(material: string, key: unknown, signatureValue: string): boolean {
      return verifySignature(material, key, signatureValue);
    }
    getAlgorithmName(): string {
      return uri;
    }
  };
}
