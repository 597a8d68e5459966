import { randomBytes } from "node:crypto";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import { createSamlProtocol } from "../../verifiers/saml/index.js";
import type { FederationParts } from "../federation/endpoints.js";

/**
 * The real SAML and OIDC verifiers, a fresh random sealing key and `https://mfa.test` as the
 * public URL, for tests; OIDC accepts http issuers, since test IdPs listen on loopback.
 */
export function testFederationParts(overrides: Partial<FederationParts> = {}): FederationParts {
  return {
    secrets: createAesGcmSealer([{ id: "test", key: randomBytes(32) }]),
    saml: createSamlProtocol(),
    oidc: createOidcProtocol({ allowHttp: true }),
    publicUrl: "https://mfa.test",
    ...overrides,
  };
}
