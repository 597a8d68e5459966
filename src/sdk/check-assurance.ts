import type { RequirementSpec } from "../core/policy.js";
import type { Aal } from "../core/vocabulary.js";
import type { AssuranceTokenClaims } from "./assurance-token-claims.js";

/** What one action of the platform needs of the sign-in behind a token. */
export interface AssuranceNeeds {
  /** The least authenticator assurance level (AAL2 is MFA). */
  readonly minAal?: Aal;
  /** A phishing-resistant proof (WebAuthn, or an IdP that proved it). */
  readonly phishingResistant?: boolean;
  /** How long ago, at most, the proving step happened (`auth_time`), in seconds. */
  readonly maxAgeSeconds?: number;
}

/** What a token lacks, part by part; only the parts that fall short are present. */
export interface AssuranceShortfall {
  readonly aal?: { readonly required: Aal; readonly actual: Aal };
  readonly phishingResistant?: { readonly required: true; readonly actual: false };
  readonly age?: { readonly maxAgeSeconds: number; readonly ageSeconds: number };
}

/** Whether a token meets an action's needs, and if not, what is missing and what to ask for. */
export type AssuranceCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly shortfall: AssuranceShortfall;
      /**
       * The requirement to send as a flow's `step_up`: every need, not just the missing part,
       * since the new token must meet them all on its own.
       */
      readonly stepUp: RequirementSpec;
    };

/**
 * Checks the assurance a verified token carries against what an action needs (pure: `now` is
 * given). A token's `exemption` does not lower the needs: it excused the tenant's policy at
 * sign-in, not the platform's demand for this action. Claims of another shape than verified ones
 * (a missing `aal`, `phr` as text), misconfigured needs and an invalid `now` throw a `TypeError`.
 */
export function checkAssurance(
  claims: Pick<AssuranceTokenClaims, "aal" | "phr" | "auth_time">,
  needs: AssuranceNeeds,
  now: Date,
): AssuranceCheck {
  assertNeeds(needs);
  assertClaims(claims);
  // An invalid date makes every age NaN, and NaN is never above the maximum.
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new TypeError("now must be a valid Date: no proof's age can be told at no time");
  const shortfall: {
    -readonly [K in keyof AssuranceShortfall]?: NonNullable<AssuranceShortfall[K]>;
  } = {};
  if (needs.minAal !== undefined && claims.aal < needs.minAal)
    shortfall.aal = { required: needs.minAal, actual: claims.aal };
  if (needs.phishingResistant === true && !claims.phr)
    shortfall.phishingResistant = { required: true, actual: false };
  if (needs.maxAgeSeconds !== undefined) {
    const ageSeconds = Math.floor(now.getTime() / 1000) - claims.auth_time;
    if (ageSeconds > needs.maxAgeSeconds)
      shortfall.age = { maxAgeSeconds: needs.maxAgeSeconds, ageSeconds };
  }
  if (Object.keys(shortfall).length === 0) return { ok: true };
  return { ok: false, shortfall, stepUp: stepUpFor(needs) };
}

/** The needs as a flow's step-up requirement, without the parts that ask nothing. */
export function stepUpFor(needs: AssuranceNeeds): RequirementSpec {
  return {
    ...(needs.minAal === undefined ? {} : { minAal: needs.minAal }),
    ...(needs.phishingResistant === true ? { phishingResistant: true } : {}),
    ...(needs.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: needs.maxAgeSeconds }),
  };
}

/**
 * Claims are what `verifyAssuranceToken` returns; anything else proves nothing and must not
 * pass: a missing `aal` is not below any level, `phr: "false"` is truthy, and the age of a
 * missing or textual `auth_time` is NaN, never above the maximum.
 */
function assertClaims(claims: Pick<AssuranceTokenClaims, "aal" | "phr" | "auth_time">): void {
  if (typeof claims !== "object" || claims === null)
    throw new TypeError("claims must be those verifyAssuranceToken returned");
  const { aal, phr, auth_time: authTime } = claims as Record<string, unknown>;
  if (aal !== 0 && aal !== 1 && aal !== 2 && aal !== 3)
    throw new TypeError("claims.aal must be 0, 1, 2 or 3: verify the token first");
  if (typeof phr !== "boolean")
    throw new TypeError("claims.phr must be a boolean: verify the token first");
  if (typeof authTime !== "number" || !Number.isSafeInteger(authTime) || authTime < 0)
    throw new TypeError("claims.auth_time must be seconds since the epoch: verify the token first");
}

/** Needs are configuration: a typo must fail loudly, not pass every token. */
export function assertNeeds(needs: AssuranceNeeds): void {
  if (typeof needs !== "object" || needs === null) throw new TypeError("needs must be an object");
  const { minAal, phishingResistant, maxAgeSeconds } = needs;
  if (minAal !== undefined && ![0, 1, 2, 3].includes(minAal))
    throw new TypeError("needs.minAal must be 0, 1, 2 or 3");
  if (phishingResistant !== undefined && typeof phishingResistant !== "boolean")
    throw new TypeError("needs.phishingResistant must be a boolean");
  if (maxAgeSeconds !== undefined && !(Number.isSafeInteger(maxAgeSeconds) && maxAgeSeconds >= 0))
    throw new TypeError("needs.maxAgeSeconds must be a non-negative integer");
  const known = new Set(["minAal", "phishingResistant", "maxAgeSeconds"]);
  for (const key of Object.keys(needs))
    if (!known.has(key)) throw new TypeError(`needs.${key} is not a need this check knows`);
}
