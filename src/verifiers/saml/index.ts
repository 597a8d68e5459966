import type { KeyObject } from "node:crypto";
import type { SamlProtocol } from "../../app/federation/protocols.js";
import { authnRequestUrl } from "./authn-request.js";
import { registeredKeys } from "./certificates.js";
import type { XmlLimits } from "./harden.js";
import { parseIdpMetadata } from "./idp-metadata.js";
import { spMetadata } from "./sp-metadata.js";
import { verifyResponse } from "./verify-response.js";

/** Limits of the SAML service provider; the defaults suit Web Browser SSO responses. */
export interface SamlProtocolOptions {
  /** Largest decoded SAMLResponse accepted, in bytes. Default 256 KiB. */
  readonly maxResponseBytes?: number;
  /** Largest IdP metadata document accepted, in bytes. Default 1 MiB. */
  readonly maxMetadataBytes?: number;
  /** Deepest element nesting accepted in a response or metadata. Default 32. */
  readonly maxDepth?: number;
}

const DEFAULTS = { maxResponseBytes: 256 * 1024, maxMetadataBytes: 1024 * 1024, maxDepth: 32 };
// Registered certificates are parsed once; a tenant's set rarely changes, so a small cache does.
const MAX_CACHED_CERTIFICATE_SETS = 256;

/**
 * The SAML 2.0 Web Browser SSO service provider behind the `SamlProtocol` port: SP metadata,
 * IdP metadata parsing, HTTP-Redirect AuthnRequests, and response verification that reads
 * identity only from bytes signed by the IdP's registered certificates.
 */
export function createSamlProtocol(options: SamlProtocolOptions = {}): SamlProtocol {
  const settings = { ...DEFAULTS, ...options };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`createSamlProtocol: ${name} must be a positive integer`);
    }
  }
  const responseLimits: XmlLimits = {
    maxBytes: settings.maxResponseBytes,
    maxDepth: settings.maxDepth,
  };
  const metadataLimits: XmlLimits = {
    maxBytes: settings.maxMetadataBytes,
    maxDepth: settings.maxDepth,
  };
  const keyCache = new Map<string, readonly KeyObject[]>();
  const keysOf = (certificates: readonly string[]): readonly KeyObject[] => {
    const cacheKey = certificates.join("\u0000");
    let keys = keyCache.get(cacheKey);
    if (keys === undefined) {
      keys = registeredKeys(certificates);
      if (keyCache.size >= MAX_CACHED_CERTIFICATE_SETS) keyCache.clear();
      keyCache.set(cacheKey, keys);
    }
    return keys;
  };
  const protocol: SamlProtocol = {
    metadata: spMetadata,
    parseIdpMetadata: (xml) => parseIdpMetadata(xml, metadataLimits),
    authnRequestUrl,
    verifyResponse: (sp, idp, verification) =>
      Promise.resolve().then(() => verifyResponse(sp, idp, verification, responseLimits, keysOf)),
  };
  return Object.freeze(protocol);
}
