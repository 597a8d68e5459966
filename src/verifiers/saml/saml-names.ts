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
export const ENTITY_NAME_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/** Checklist S10: RSA with SHA-256 or SHA-512, the ones xml-crypto 6 verifies; never SHA-1 or HMAC. */
export const ALLOWED_SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set([
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
]);
export const ALLOWED_DIGEST_ALGORITHMS: ReadonlySet<string> = new Set([
  "http://www.w3.org/2001/04/xmlenc#sha256",
  "http://www.w3.org/2001/04/xmlenc#sha512",
]);
export const EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
export const ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/** Checklist S10 (CVE-2021-39171 fix): enveloped + exc-c14n only, at most two transforms. */
export const ALLOWED_TRANSFORMS: ReadonlySet<string> = new Set([
  ENVELOPED_SIGNATURE,
  EXCLUSIVE_C14N,
]);
export const MAX_TRANSFORMS = 2;
