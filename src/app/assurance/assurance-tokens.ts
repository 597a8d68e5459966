import {
  ASSURANCE_TOKEN_TYPE,
  assuranceClaims,
  type AssuranceClaimsRefusal,
} from "../../core/assurance-claims.js";
import type { Decision } from "../../core/decision.js";
import type { Context } from "../context.js";
import { AppError } from "../errors.js";
import type { SigningKeys } from "./signing-keys.js";
import type { AssuranceTokenSigner } from "./token-signer.js";

/** Assurance tokens live minutes: long enough to cross a redirect, too short to be worth stealing. */
export const DEFAULT_ASSURANCE_TOKEN_LIFETIME_SECONDS = 300;

/** A signed assurance token and how many seconds it stays valid. */
export interface IssuedAssuranceToken {
  readonly token: string;
  /** Its lifetime, or less when the exemption behind the sign-in ends sooner. */
  readonly expiresIn: number;
}

const REFUSALS: Record<AssuranceClaimsRefusal, string> = {
  decision_not_allowed: "Only an allowed sign-in earns an assurance token.",
  decision_without_id: "Only a stored decision earns an assurance token.",
  decision_without_proof:
    "Only a sign-in that an authentication satisfied earns an assurance token.",
  exemption_expired: "The exemption that let this sign-in through has ended.",
};

/**
 * Signs the assurance token for an allowed, stored decision, for `audience` (the platform's
 * client). The claims come from the pure core; the key that signs is the one active now.
 */
export async function issueAssuranceToken(
  context: Context,
  parts: {
    readonly keys: SigningKeys;
    readonly signer: AssuranceTokenSigner;
    readonly issuer: string;
  },
  decision: Decision,
  audience: string,
  lifetimeSeconds = DEFAULT_ASSURANCE_TOKEN_LIFETIME_SECONDS,
): Promise<IssuedAssuranceToken> {
  const built = assuranceClaims(decision, {
    issuer: parts.issuer,
    audience,
    now: context.clock.now(),
    lifetimeSeconds,
    tokenId: context.random.id("tok"),
  });
  if (!built.ok) throw new AppError("assurance.not_allowed", REFUSALS[built.code]);
  const { claims } = built;
  const token = await parts.signer.sign(claims, await parts.keys.active(), ASSURANCE_TOKEN_TYPE);
  return { token, expiresIn: claims.exp - claims.iat };
}
