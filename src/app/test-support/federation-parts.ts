import { randomBytes } from "node:crypto";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import { createSamlProtocol } from "../../verifiers/saml/index.js";
import type { FederationParts } from "../federation/endpoints.js";
import type { Harness } from "./harness.js";

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

/**
 * Makes tenant `acme` of `harness` one whose people prove MFA at its own IdP (posture `idp_mfa`,
 * its policy's version 2), with `returnTo` as its one registered return URL.
 */
export async function requireMfaAtIdp(harness: Harness, returnTo: string): Promise<void> {
  const { app, admin } = harness;
  await app.tenants.setReturnUrls(admin, "acme", { returnUrls: [returnTo] });
  await app.policies.replace(admin, "acme", {
    policy: { posture: "idp_mfa" },
    rationale: "sign-in at the organisation's IdP",
    ifMatch: 1,
  });
}
