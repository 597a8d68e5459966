import type { Decision } from "../core/decision.js";
import type { Exemption, PlatformMandate, TenantPolicy } from "../core/policy.js";
import type { Population } from "../core/vocabulary.js";

/**
 * The records the application stores. Times are ISO 8601 UTC strings; every tenant-owned record
 * carries its tenant id, and every store method takes the tenant id first.
 */

/** An organisation on the platform. */
export interface TenantRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

/** One immutable version of a tenant policy, with who changed it, when and why. */
export interface PolicyVersionRecord {
  readonly tenant: string;
  readonly version: number;
  readonly policy: TenantPolicy;
  readonly rationale: string;
  readonly actor: string;
  readonly createdAt: string;
  /** The version this one rolled back to, when it was a rollback. */
  readonly rollbackOf?: number;
}

/** One immutable version of a platform mandate. The newest version of an id is current. */
export interface MandateVersionRecord {
  readonly id: string;
  readonly version: number;
  readonly mandate: PlatformMandate;
  readonly status: "active" | "retired";
  readonly rationale: string;
  readonly actor: string;
  readonly createdAt: string;
}

/** Someone or something that signs in, within one tenant. */
export interface PrincipalRecord {
  readonly tenant: string;
  readonly id: string;
  readonly externalId?: string;
  readonly population: Population;
  readonly displayName?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** An exemption with its administrative history. */
export interface ExemptionRecord extends Exemption {
  readonly owner: string;
  readonly justification: string;
  readonly reviewAt: string;
  /** The exemption this request renews, if any. */
  readonly renewalOf?: string;
  readonly createdAt: string;
  /** Who approved, rejected or revoked it, and when. */
  readonly decidedBy?: string;
  readonly decidedAt?: string;
}

/** A stored decision: what was decided, for whom, and everything needed to explain it. */
export interface ReceiptRecord {
  readonly id: string;
  readonly tenant: string;
  readonly principal: string;
  readonly outcome: Decision["outcome"];
  readonly createdAt: string;
  readonly decision: Decision;
  /** The inputs, summarised: evidence methods and times, risk, step-up; never secrets. */
  readonly inputSummary: Readonly<Record<string, unknown>>;
}

/** An administrative role. `platform_service` requests decisions and holds no admin right. */
export const ROLES = [
  "platform_admin",
  "tenant_admin",
  "exemption_approver",
  "tenant_auditor",
  "platform_service",
] as const;
/** An administrative role. */
export type Role = (typeof ROLES)[number];

/** An API key for automation: stored as a hash, shown once, scoped to roles and tenants. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** SHA-256 of the secret, hex. Keys are 256-bit random, so a fast hash is enough. */
  readonly secretHash: string;
  readonly roles: readonly Role[];
  /** `all` only for platform-wide keys; otherwise the tenants the key may act in. */
  readonly tenants: "all" | readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
}

/** One link of an audit chain: an append-only, hash-chained record. */
export interface AuditEvent {
  /** `platform`, or `tenant:<id>`: one chain per tenant plus one for platform events. */
  readonly chain: string;
  /** Position in the chain, from 1, without gaps. */
  readonly seq: number;
  readonly id: string;
  readonly tenant: string | null;
  readonly type: string;
  readonly actor: string;
  readonly at: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The previous link's hash; 64 zeros for the first. */
  readonly prevHash: string;
  /** SHA-256 over the canonical form of every field above. */
  readonly hash: string;
}
