import { reason, type Reason } from "./reasons.js";
import type { EffectiveRequirement } from "./requirement.js";
import type { EventSource, Method } from "./vocabulary.js";

/** One bit per method, for testing acceptance without searching a list. */
export function methodBit(method: Method): number {
  switch (method) {
    case "password":
      return 1;
    case "totp":
      return 2;
    case "webauthn":
      return 4;
    case "recovery_code":
      return 8;
    case "federated":
      return 16;
  }
}

/** One bit per place a proof can come from; `idp_or_platform` accepts both. */
export function sourceBit(source: EventSource): number {
  return source === "platform" ? 1 : 2;
}

/** Why a strong enough assurance of an accepted kind is still too old, as bits. */
export const STALE = { maxAge: 1, reauthInterval: 2, idleTimeout: 4 } as const;

/** Why no assurance is strong enough, as bits (see {@link PreparedRequirement.strengthGaps}). */
export const GAP = { aal: 1, phishingResistance: 2, userVerification: 4 } as const;

const EVIDENCE_NONE: readonly Reason[] = Object.freeze([reason("evidence.none")]);

/**
 * An effective requirement with what every decision under it computes the same way, worked out
 * once: its thresholds as plain numbers and bits, whether any evidence could ever meet it, and
 * its reasons as frozen lists that decisions share. Requirements joined from immutable rules are
 * shared by every decision under them, and so is their preparation.
 */
export class PreparedRequirement {
  readonly requirement: EffectiveRequirement;
  readonly minAal: number;
  readonly phishingResistant: boolean;
  readonly userVerification: boolean;
  /** Maximum age of the MFA event in milliseconds; `Infinity` when no rule limits it. */
  readonly maxAgeMs: number;
  readonly reauthIntervalMs: number;
  /** `Infinity` when no rule limits it. */
  readonly idleTimeoutMs: number;
  /** {@link methodBit}s of the accepted methods. */
  readonly methods: number;
  /** {@link sourceBit}s of the accepted proof sources; 0 when the rules accept no common one. */
  readonly sources: number;
  /** Whether any evidence could ever meet it; a conflict between rules cannot. */
  readonly satisfiable: boolean;

  #conflict: readonly Reason[] | undefined;
  // Indexed by the bits of STALE and GAP, filled on first use.
  #stale: (readonly Reason[] | undefined)[] = new Array<undefined>(8).fill(undefined);
  #gaps: (readonly Reason[] | undefined)[] = new Array<undefined>(8).fill(undefined);
  #unmetSource: readonly Reason[] | undefined;
  #unmetMethod: readonly Reason[] | undefined;

  constructor(requirement: EffectiveRequirement) {
    this.requirement = requirement;
    this.minAal = requirement.minAal.value;
    this.phishingResistant = requirement.phishingResistant.value;
    this.userVerification = requirement.userVerification.value;
    const maxAge = requirement.maxAgeSeconds.value;
    this.maxAgeMs = maxAge === null ? Infinity : maxAge * 1000;
    this.reauthIntervalMs = requirement.reauthIntervalSeconds.value * 1000;
    const idle = requirement.idleTimeoutSeconds.value;
    this.idleTimeoutMs = idle === null ? Infinity : idle * 1000;
    let methods = 0;
    for (const method of requirement.acceptedMethods.value) methods |= methodBit(method);
    this.methods = methods;
    const source = requirement.proofSource.value;
    this.sources = source === null ? 0 : source === "platform" ? 1 : source === "idp" ? 2 : 3;
    this.satisfiable = isSatisfiable(this);
  }

  /** True when a proof from `source` is accepted. */
  accepts(source: EventSource): boolean {
    return (this.sources & sourceBit(source)) !== 0;
  }

  /** Why no evidence can meet the requirement: the rules that cannot both hold. */
  conflictReasons(): readonly Reason[] {
    const r = this.requirement;
    this.#conflict ??= Object.freeze([
      reason("requirement.conflict", undefined, r.proofSource.from[0] ?? r.acceptedMethods.from[0]),
    ]);
    return this.#conflict;
  }

  /** The reasons for a set of {@link STALE} bits, in the order max age, reauth, idle. */
  staleReasons(stale: number): readonly Reason[] {
    let reasons = this.#stale[stale];
    if (reasons === undefined) {
      const r = this.requirement;
      const list: Reason[] = [];
      if ((stale & STALE.maxAge) !== 0) {
        list.push(reason("freshness.max_age_exceeded", undefined, r.maxAgeSeconds.from[0]));
      }
      if ((stale & STALE.reauthInterval) !== 0) {
        list.push(
          reason("session.reauth_interval_exceeded", undefined, r.reauthIntervalSeconds.from[0]),
        );
      }
      if ((stale & STALE.idleTimeout) !== 0) {
        list.push(reason("session.idle_timeout_exceeded", undefined, r.idleTimeoutSeconds.from[0]));
      }
      reasons = Object.freeze(list);
      this.#stale[stale] = reasons;
    }
    return reasons;
  }

  /**
   * Why the evidence falls short when no assurance is fresh and accepted: no evidence at all; a
   * strong enough assurance of an accepted method from the wrong source, or of no accepted
   * method; otherwise the {@link GAP} bits (none set: name the AAL).
   */
  strengthGaps(
    anyEvidence: boolean,
    strong: boolean,
    strongMethod: boolean,
    gaps: number,
  ): readonly Reason[] {
    const r = this.requirement;
    if (!anyEvidence) return EVIDENCE_NONE;
    if (strong && strongMethod) {
      this.#unmetSource ??= Object.freeze([
        reason("requirement.unmet.proof_source", undefined, r.proofSource.from[0]),
      ]);
      return this.#unmetSource;
    }
    if (strong) {
      this.#unmetMethod ??= Object.freeze([
        reason("requirement.unmet.method", undefined, r.acceptedMethods.from[0]),
      ]);
      return this.#unmetMethod;
    }
    let reasons = this.#gaps[gaps];
    if (reasons === undefined) {
      const list: Reason[] = [];
      // At AAL3 the way on is an attested, device-bound key, not "a second factor".
      const aalCode = this.minAal >= 3 ? "requirement.unmet.aal3" : "requirement.unmet.aal";
      if ((gaps & GAP.aal) !== 0) list.push(reason(aalCode, undefined, r.minAal.from[0]));
      if ((gaps & GAP.phishingResistance) !== 0) {
        list.push(
          reason("requirement.unmet.phishing_resistance", undefined, r.phishingResistant.from[0]),
        );
      }
      if ((gaps & GAP.userVerification) !== 0) {
        list.push(
          reason("requirement.unmet.user_verification", undefined, r.userVerification.from[0]),
        );
      }
      // Each assurance fails on some combination; name the AAL when nothing more specific applies.
      if (list.length === 0) list.push(reason(aalCode, undefined, r.minAal.from[0]));
      reasons = Object.freeze(list);
      this.#gaps[gaps] = reasons;
    }
    return reasons;
  }
}

/**
 * Whether any evidence could ever meet the requirement with the accepted methods and sources.
 * An IdP can in principle prove anything; WebAuthn reaches AAL3 and phishing resistance; OTP and
 * recovery codes reach AAL2 without it; a password alone only AAL1.
 */
function isSatisfiable(p: PreparedRequirement): boolean {
  const onPlatform = (p.sources & 1) !== 0;
  const atIdp = (p.sources & 2) !== 0;
  const otp = onPlatform && !p.phishingResistant;
  return (
    ((p.methods & methodBit("federated")) !== 0 && atIdp) ||
    ((p.methods & methodBit("webauthn")) !== 0 && onPlatform) ||
    ((p.methods & (methodBit("totp") | methodBit("recovery_code"))) !== 0 &&
      otp &&
      p.minAal <= 2) ||
    ((p.methods & methodBit("password")) !== 0 && otp && p.minAal <= 1)
  );
}
