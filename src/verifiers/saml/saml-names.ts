/** XML namespaces and URIs from SAML 2.0 Core, Bindings and XML-DSig that the verifier names. */
export const NS = {
  protocol: "urn:oasis:names:tc:SAML:2.0:protocol",
  assertion: "urn:oasis:names:tc:SAML:2.0:assertion",
  metadata: "urn:oasis:names:tc:SAML:2.0:metadata",
  dsig: "http://www.w3.org/2000/09/xmldsig#",
} as const;

export const BINDING = {
  httpPost: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
  httpRedirect: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
} as const;

export const STATUS = {
  success: "urn:oasis:names:tc:SAML:2.0:status:Success",
  responder: "urn:oasis:names:tc:SAML:2.0:status:Responder",
  noAuthnContext: "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext",
} as const;

export const BEARER_METHOD = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/** SAML Core §8.3: the SAML 2.0 NameID Formats share this prefix. */
export const NAME_ID_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
export const ENTITY_NAME_FORMAT = `${NAME_ID_FORMAT}entity`;
/** SAML Core §8.3.1 (the 1.1 URI, as the errata correct it): the IdP's choice of any Format. */
export const UNSPECIFIED_NAME_ID_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

export const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
export const RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
export const RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
/** XML-DSig 1.1 §6.4.3 (RFC 6931 §2.3.6): ECDSA, its value r‖s, not DER. */
export const ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
export const ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
export const ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";

/**
 * Checklist S10: each allowed signature algorithm and the type of key (node's
 * `asymmetricKeyType`) it is verified with; never SHA-1 or HMAC. xml-crypto 6 has classes for
 * rsa-sha256 and rsa-sha512 only: the verifier adds rsa-sha384 and ECDSA. A key of the other
 * type never verifies: node's RSA verifier given an EC key checks a DER ECDSA signature
 * instead, whatever the URI says.
 */
export const SIGNATURE_ALGORITHM_KEY_TYPES: ReadonlyMap<string, "rsa" | "ec"> = new Map([
  [RSA_SHA256, "rsa"],
  [RSA_SHA384, "rsa"],
  [RSA_SHA512, "rsa"],
  [ECDSA_SHA256, "ec"],
  [ECDSA_SHA384, "ec"],
  [ECDSA_SHA512, "ec"],
]);
export const ALLOWED_SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set(
  SIGNATURE_ALGORITHM_KEY_TYPES.keys(),
);
export const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
/** RFC 6931 §2.1.3: SHA-384 has its URI in xmldsig-more, not xmlenc as the others. */
export const SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384";
export const SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512";
/** Checklist S10: the Reference digests allowed; never SHA-1. */
export const ALLOWED_DIGEST_ALGORITHMS: ReadonlySet<string> = new Set([SHA256, SHA384, SHA512]);
export const EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
export const ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/** Checklist S10 (CVE-2021-39171 fix): enveloped + exc-c14n only, at most two transforms. */
export const ALLOWED_TRANSFORMS: ReadonlySet<string> = new Set([
  ENVELOPED_SIGNATURE,
  EXCLUSIVE_C14N,
]);
export const MAX_TRANSFORMS = 2;
