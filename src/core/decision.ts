import type { Actor, AuthenticationEvent } from "./evidence.js";
import type { Reason } from "./reasons.js";
import type { EffectiveRequirement } from "./requirement.js";
import type { Aal, ExemptionCategory, Mode, Outcome, Population, RiskLevel } from "./vocabulary.js";

/**
 * One way to satisfy a `challenge`, listed in the order the user should be offered them.
 *
 * - `reauthenticate`: the platform must check its own first factor again (stale or missing).
 * - `verify`: verify an enrolled authenticator of this method.
 * - `enroll`: enrol a new authenticator; `deviceBound` when a passkey is not enough (AAL3): a
 *   hardware security key whose attestation the platform can verify, which keeps its key.
 * - `idp_step_up`: sign in again at the tenant's IdP, requesting these values (REFEDS MFA).
 */
export type ChallengeOption =
  | { readonly kind: "reauthenticate" }
  | {
      readonly kind: "verify";
      readonly method: "totp" | "webauthn" | "recovery_code";
      readonly authenticatorId?: string;
      readonly userVerification: "required" | "preferred";
    }
  | {
      readonly kind: "enroll";
      readonly method: "totp" | "webauthn";
      readonly userVerification: "required" | "preferred";
      readonly deviceBound: boolean;
    }
  | {
      readonly kind: "idp_step_up";
      readonly idp?: string;
      readonly acrValues: readonly string[];
      readonly authnContextClassRefs: readonly string[];
      readonly maxAgeSeconds: number | null;
      readonly forceAuthn: boolean;
      readonly phishingResistant: boolean;
    };

/** The evidence that satisfied the requirement. */
export interface SatisfiedBy {
  readonly events: readonly AuthenticationEvent[];
  readonly aal: Aal;
  readonly phishingResistant: boolean;
  /** When the step that proves the assurance happened, ISO 8601 UTC: freshness runs from it. */
  readonly provenAt: string;
}

/** The exemption a decision used. */
export interface UsedExemption {
  readonly id: string;
  readonly category: ExemptionCategory;
  readonly expiresAt: string;
  /** Break-glass use is a distinct audit event that operators alert on. */
  readonly breakGlass: boolean;
  /** The requirement the exemption excused; `requirement` holds what was still enforced. */
  readonly excused: EffectiveRequirement;
}

/** What full enforcement would have decided, kept while a policy runs in `report_only` mode. */
export interface ReportOnlyResult {
  readonly enforcementStartsAt: string;
  readonly outcome: Outcome;
  readonly requirement: EffectiveRequirement | null;
  readonly reasons: readonly Reason[];
  readonly challenge: readonly ChallengeOption[];
}

/**
 * The answer for one sign-in. A stored decision is a receipt: it says which policy and mandate
 * versions applied, what they required and why, and what evidence or exemption satisfied them.
 */
export interface Decision {
  /** Assigned by the caller (`options.id`); `null` when none was given. */
  readonly id: string | null;
  readonly tenant: string;
  readonly principal: {
    readonly id: string;
    readonly population: Population;
    /** The population the principal was held to, when it differs (an interactive integration). */
    readonly treatedAs?: Population;
  };
  readonly outcome: Outcome;
  /** `report_only` while the tenant policy's enforcement start date lies ahead. */
  readonly mode: Mode;
  /** Present in `report_only` mode: what enforcing the tenant policy would have decided. */
  readonly reportOnly?: ReportOnlyResult;
  /** The enforced requirement with provenance; `null` when policy does not apply or input was invalid. */
  readonly requirement: EffectiveRequirement | null;
  readonly satisfiedBy: SatisfiedBy | null;
  readonly exemption: UsedExemption | null;
  readonly reasons: readonly Reason[];
  /** Ways to satisfy the requirement, in order; empty unless the outcome is `challenge`. */
  readonly challenge: readonly ChallengeOption[];
  readonly versions: {
    readonly tenantPolicy: number | null;
    readonly mandates: readonly { readonly id: string; readonly version: number }[];
  };
  /** The risk level the rules were read with: the reported one, or `unknown`. */
  readonly risk: RiskLevel | "unknown";
  /** The individual acting through a shared or privileged credential (RFC 8693 `act`). */
  readonly act?: Actor;
  readonly evaluatedAt: string;
}
