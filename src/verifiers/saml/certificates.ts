import { X509Certificate, type KeyObject } from "node:crypto";

/**
 * The public keys of the IdP's registered certificates (PEM or bare base64 DER). Only these
 * verify a response; `KeyInfo` in the message is never consulted (checklist S9, CVE-2024-32962).
 * A certificate that does not parse is skipped: the remaining ones still protect the tenant, and
 * with none left every response is refused.
 */
export function registeredKeys(certificates: readonly string[]): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const certificate of certificates) {
    try {
      keys.push(new X509Certificate(toPem(certificate)).publicKey);
    } catch {
      continue;
    }
  }
  return keys;
}

export function toPem(certificate: string): string {
  if (certificate.includes("-----BEGIN CERTIFICATE-----")) return certificate;
  const body = certificate.replace(/\s+/g, "");
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}
