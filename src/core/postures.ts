import { deepFreeze } from "./input.js";
import type { RequirementSpec } from "./policy.js";
import type { Posture } from "./vocabulary.js";

/**
 * The requirement each posture stands for, before the tenant's own parameters.
 *
 * - `platform_mfa`: MFA proven on the platform (TOTP, WebAuthn, recovery codes as fallback).
 * - `phishing_resistant`: WebAuthn that verified the user, on the platform.
 * - `idp_mfa`: the IdP's signed proof of MFA; no local challenge.
 * - `idp_or_platform`: the IdP's proof, or else a local challenge ("MFA with retry", seed 004).
 * - `mfa_optional`: one factor suffices, unless a mandate says otherwise.
 */
export const POSTURE_REQUIREMENTS: Readonly<Record<Posture, RequirementSpec>> = deepFreeze({
  platform_mfa: {
    minAal: 2,
    proofSource: "platform",
    acceptedMethods: ["totp", "webauthn", "recovery_code"],
  },
  phishing_resistant: {
    minAal: 2,
    phishingResistant: true,
    userVerification: true,
    proofSource: "platform",
    acceptedMethods: ["webauthn"],
  },
  idp_mfa: { minAal: 2, proofSource: "idp", acceptedMethods: ["federated"] },
  idp_or_platform: { minAal: 2, proofSource: "idp_or_platform" },
  mfa_optional: { minAal: 1 },
});
