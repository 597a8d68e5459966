import type { PlatformMandate, TenantPolicy } from "./policy.js";
import { POSTURE_REQUIREMENTS } from "./postures.js";
import { joinRequirements, type EffectiveRequirement, type SourcedSpec } from "./requirement.js";

/** A part of a tenant policy that a mandate makes stricter. */
export interface PolicyOverride {
  readonly part: keyof EffectiveRequirement;
  readonly mandate: string;
  readonly message: string;
}

/**
 * The parts of a tenant policy that the given mandates will override, so that an administrator
 * who writes a policy weaker than the mandates learns which parts will not hold as written.
 * Risk rules are left out: they bind only some sign-ins.
 */
export function policyOverrides(
  policy: TenantPolicy,
  mandates: readonly PlatformMandate[],
): PolicyOverride[] {
  const tenantRef = { kind: "tenant_policy", version: policy.version } as const;
  const tenantSpecs: SourcedSpec[] = [
    { spec: POSTURE_REQUIREMENTS[policy.posture], from: tenantRef },
  ];
  if (policy.require !== undefined) tenantSpecs.push({ spec: policy.require, from: tenantRef });
  const own = joinRequirements(tenantSpecs);
  const overrides: PolicyOverride[] = [];
  for (const m of mandates) {
    const joined = joinRequirements([
      ...tenantSpecs,
      { spec: m.require, from: { kind: "mandate", id: m.id, version: m.version } },
    ]);
    const add = (part: keyof EffectiveRequirement, message: string) =>
      overrides.push({ part, mandate: m.id, message });
    if (joined.minAal.value > own.minAal.value) {
      add("minAal", `Mandate ${m.id} requires AAL${joined.minAal.value}.`);
    }
    if (joined.phishingResistant.value && !own.phishingResistant.value) {
      add("phishingResistant", `Mandate ${m.id} requires phishing-resistant MFA.`);
    }
    if (joined.userVerification.value && !own.userVerification.value) {
      add("userVerification", `Mandate ${m.id} requires user verification.`);
    }
    if (joined.maxAgeSeconds.value !== own.maxAgeSeconds.value) {
      add("maxAgeSeconds", `Mandate ${m.id} limits the MFA age to ${joined.maxAgeSeconds.value}s.`);
    }
    for (const part of ["reauthIntervalSeconds", "idleTimeoutSeconds"] as const) {
      if (joined[part].value !== own[part].value) {
        add(part, `Mandate ${m.id} limits ${part} to ${joined[part].value}s.`);
      }
    }
    if (joined.acceptedMethods.value.length < own.acceptedMethods.value.length) {
      add(
        "acceptedMethods",
        `Mandate ${m.id} accepts only ${joined.acceptedMethods.value.join(", ") || "no method you allow"}.`,
      );
    }
    if (joined.proofSource.value !== own.proofSource.value) {
      add(
        "proofSource",
        `Mandate ${m.id} accepts proof from ${joined.proofSource.value ?? "no source you allow"}.`,
      );
    }
  }
  return overrides;
}
