import type {
  Aal,
  ExemptionCategory,
  Method,
  Population,
  Posture,
  ProofSource,
  RiskLevel,
} from "./vocabulary.js";

/**
 * What a sign-in must prove, as stated by one rule. Every field is optional: a rule constrains
 * only what it names, and the effective requirement is the strictest join of all rules.
 */
export interface RequirementSpec {
  /** Minimum authenticator assurance level. */
  readonly minAal?: Aal;
  /** Phishing-resistant authentication (WebAuthn, or an IdP that proves it). */
  readonly phishingResistant?: boolean;
  /** A WebAuthn step counts only if it verified the user. */
  readonly userVerification?: boolean;
  /** Maximum age of the MFA event, in seconds (freshness). */
  readonly maxAgeSeconds?: number;
  /** Maximum time since the user last fully authenticated, in seconds. */
  readonly reauthIntervalSeconds?: number;
  /** Maximum time without activity in a session, in seconds. */
  readonly idleTimeoutSeconds?: number;
  /** Methods that may prove MFA (the second factor, or the single multi-factor step). */
  readonly acceptedMethods?: readonly Method[];
  /** Where the proof of MFA may come from. */
  readonly proofSource?: ProofSource;
}

/** Stricter requirements applied at or above a session risk level. */
export type RiskRules = Readonly<Partial<Record<RiskLevel, RequirementSpec>>>;

/** A tenant's MFA policy, one immutable version of it. */
export interface TenantPolicy {
  readonly tenant: string;
  readonly version: number;
  readonly posture: Posture;
  /** Raises or specialises the posture's requirement. */
  readonly require?: RequirementSpec;
  /** Risk level → stricter requirement. */
  readonly riskRules?: RiskRules;
  /**
   * How this policy's risk rules read a sign-in with no risk level: `medium` unless the policy
   * says `low`. Each rule set reads it for itself, so a tenant cannot weaken a mandate this way.
   */
  readonly unknownRisk?: "low" | "medium";
  /** Before this instant (ISO 8601) the policy runs in `report_only` mode. */
  readonly enforcementStartsAt?: string;
}

/** A requirement set by platform administrators that no tenant policy can weaken. */
export interface PlatformMandate {
  readonly id: string;
  readonly version: number;
  readonly title?: string;
  readonly scope: {
    /** `all`, or the ids of the tenants it binds. */
    readonly tenants: "all" | readonly string[];
    /** Populations it binds; all populations MFA applies to when absent. */
    readonly populations?: readonly Population[];
  };
  readonly require: RequirementSpec;
  readonly riskRules?: RiskRules;
  /** How this mandate's risk rules read a missing risk level; `medium` when absent. */
  readonly unknownRisk?: "low" | "medium";
  /** Active window (ISO 8601), e.g. for an emergency uplift. Open-ended on a missing side. */
  readonly activeFrom?: string;
  readonly activeUntil?: string;
  /** When false, no exemption excuses a principal from this mandate. */
  readonly exemptible: boolean;
}

/**
 * A named principal excused from its tenant's requirement and exemptible mandates for a bounded
 * time. The engine re-checks every condition; it trusts no caller to have filtered.
 */
export interface Exemption {
  readonly id: string;
  readonly tenant: string;
  readonly principal: string;
  readonly category: ExemptionCategory;
  readonly status: "approved" | "requested" | "rejected" | "revoked";
  readonly startsAt: string;
  /** Mandatory: an exemption without expiry never applies. */
  readonly expiresAt: string;
  readonly requestedBy: string;
  readonly approvedBy?: string;
  readonly justification?: string;
}
