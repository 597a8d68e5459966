import { X509Certificate } from "node:crypto";

/** At most this many certificates in an attestation's `x5c` (leaf and intermediates). */
const MAX_CHAIN = 5;

/**
 * A root an authenticator's attestation may chain to: an authenticator vendor's attestation root,
 * as FIDO MDS lists them (`attestationRootCertificates`). Kept as a key and a name: the anchor's
 * own extensions and CA flag are not asked for (RFC 5280 §6.1.1 (d): a trust anchor is its name
 * and key), so a vendor's self-signed batch certificate can be an anchor too.
 */
export type AttestationRoot = X509Certificate;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The certificates in `entry`: one or more PEM blocks, or one certificate's DER in base64 (the
 * form FIDO MDS metadata statements carry). Throws a `TypeError` naming what is wrong.
 */
export function parseAttestationRoots(entry: string): AttestationRoot[] {
  const blocks = entry.match(PEM_BLOCK);
  const compact = entry.replace(/\s+/g, "");
  try {
    if (blocks !== null) return blocks.map((pem) => new X509Certificate(pem));
    if (BASE64.test(compact)) return [new X509Certificate(Buffer.from(compact, "base64"))];
  } catch (error) {
    throw new TypeError(`an attestation root is not a readable certificate`, { cause: error });
  }
  throw new TypeError("an attestation root is neither PEM nor one certificate's DER in base64");
}

/** Whether `cert` is valid at `at` (RFC 5280 §4.1.2.5: both ends inclusive). */
function validAt(cert: X509Certificate, at: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && from <= at && at <= to;
}

/** Whether `issuer` issued `cert`: its name is the certificate's issuer and its key signed it. */
function issued(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.issuer === issuer.subject && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * The root that the attestation chain `x5c` (leaf first, as WebAuthn §8 sends it) leads to, or
 * undefined: each certificate issued by the next (name and signature), the intermediates CAs,
 * every certificate of the path, the root included, valid at `at`, the last one issued by one
 * of `roots`. The leaf's own statement (that it signed this registration, its OU and AAGUID
 * extension) is the attestation format's check, which runs before; this answers only whether a
 * root the operator trusts vouches for that leaf. Undefined for anything unreadable.
 */
export function attestationRootOf(
  x5c: readonly Uint8Array[],
  roots: readonly AttestationRoot[],
  at: Date,
): AttestationRoot | undefined {
  if (x5c.length === 0 || x5c.length > MAX_CHAIN || roots.length === 0) return undefined;
  const time = at.getTime();
  let chain: X509Certificate[];
  try {
    chain = x5c.map((der) => new X509Certificate(der));
  } catch {
    return undefined;
  }
  for (const [index, cert] of chain.entries()) {
    if (!validAt(cert, time)) return undefined;
    if (index > 0 && !cert.ca) return undefined;
    const next = chain[index + 1];
    if (next !== undefined) {
      if (!issued(cert, next)) return undefined;
      continue;
    }
    return roots.find((root) => validAt(root, time) && issued(cert, root));
  }
  return undefined;
}
