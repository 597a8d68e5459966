import type { ChallengeOption, Decision, EffectiveRequirement, RuleRef } from "../index.js";

/** Renders a decision as a few readable lines for a terminal. */
export function renderDecision(decision: Decision): string {
  const lines = [`outcome: ${decision.outcome.toUpperCase()}  (mode: ${decision.mode})`];
  if (decision.requirement !== null)
    lines.push(`requires: ${describeRequirement(decision.requirement)}`);
  if (decision.satisfiedBy !== null) {
    const methods = decision.satisfiedBy.events.map((e) => e.method).join(" + ");
    const pr = decision.satisfiedBy.phishingResistant ? ", phishing-resistant" : "";
    lines.push(`proven by: ${methods} (AAL${decision.satisfiedBy.aal}${pr})`);
  }
  if (decision.exemption !== null) {
    lines.push(
      `exemption: ${decision.exemption.id} (${decision.exemption.category}) until ${decision.exemption.expiresAt}`,
    );
  }
  for (const r of decision.reasons) lines.push(`reason: ${r.code}: ${r.message}`);
  decision.challenge.forEach((option, index) =>
    lines.push(`option ${index + 1}: ${describeOption(option)}`),
  );
  if (decision.reportOnly !== undefined) {
    lines.push(
      `once enforced: ${decision.reportOnly.outcome.toUpperCase()} (from ${decision.reportOnly.enforcementStartsAt})`,
    );
  }
  return lines.join("\n");
}

function describeRule(rule: RuleRef): string {
  switch (rule.kind) {
    case "mandate":
      return `mandate ${rule.id} v${rule.version}${rule.risk === undefined ? "" : ` (risk ${rule.risk})`}`;
    case "tenant_policy":
      return `tenant policy v${rule.version}${rule.risk === undefined ? "" : ` (risk ${rule.risk})`}`;
    case "step_up":
      return "step-up";
    case "nist_default":
      return "NIST SP 800-63B-4";
    case "baseline":
      return "baseline";
  }
}

function describeRequirement(r: EffectiveRequirement): string {
  const from = (rules: readonly RuleRef[]) =>
    rules.length === 0 ? "" : ` [${rules.map(describeRule).join(", ")}]`;
  const parts = [`AAL${r.minAal.value}${from(r.minAal.from)}`];
  if (r.phishingResistant.value) parts.push(`phishing-resistant${from(r.phishingResistant.from)}`);
  if (r.maxAgeSeconds.value !== null)
    parts.push(`MFA within ${r.maxAgeSeconds.value}s${from(r.maxAgeSeconds.from)}`);
  parts.push(`methods ${r.acceptedMethods.value.join("/")}`);
  parts.push(`proof from ${r.proofSource.value ?? "nowhere (conflict)"}`);
  return parts.join("; ");
}

function describeOption(option: ChallengeOption): string {
  switch (option.kind) {
    case "reauthenticate":
      return "sign in again with your password";
    case "verify":
      return `verify your ${option.method}${option.authenticatorId === undefined ? "" : ` "${option.authenticatorId}"`}`;
    case "enroll":
      return `enrol ${option.method === "webauthn" ? "a passkey or security key" : "an authenticator app (TOTP)"}${option.deviceBound ? " (device-bound)" : ""}`;
    case "idp_step_up":
      return `sign in again at ${option.idp ?? "your identity provider"} asking for ${option.acrValues.join(" ")}${option.forceAuthn ? " (forced)" : ""}`;
  }
}
