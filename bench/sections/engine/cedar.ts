import {
  preparsePolicySet,
  statefulIsAuthorized,
  validate,
  type CedarValueJson,
  type EntityJson,
  type StatefulAuthorizationCall,
} from "@cedar-policy/cedar-wasm/nodejs";
import type {
  Aal,
  AuthenticationEvent,
  EvaluationInput,
  Method,
  PlatformMandate,
  Posture,
  ProofSource,
  RequirementSpec,
  RiskLevel,
  RiskRules,
} from "../../../src/index.js";

/**
 * The Cedar baseline: the same MFA policy decision written as a Cedar policy set, and each input
 * of the mix converted into a Cedar request (principal, action, resource, entities, context).
 *
 * Cedar has no loops over the evidence, so the request carries what a policy enforcement point
 * would hand Cedar: a digest of the verified evidence, the best assurance per proving method
 * (AAL, phishing resistance, user verification, when its first step started and when its
 * proving step happened; times as epoch seconds). Building it is part of the untimed conversion, so the timed Cedar call does less
 * than `evaluate()`, which classifies and pairs the evidence itself. Tenant parameters are entity
 * attributes; postures, risk rules, step-up, exemptions, report-only and each platform mandate
 * are policies. A mandate or requirement is checked on its own (Cedar: forbid unless met) where
 * the engine joins them into one effective requirement that a single assurance must meet; that
 * and the digest are where the two can disagree.
 *
 * Cedar's stateful API is used: the policy set is parsed once (`preparsePolicySet`) and each
 * request names it. The schema validates the policies once at setup (strict mode); the timed
 * requests pass no schema, so Cedar skips request validation (the faster choice).
 */

const POLICY_SET_ID = "tenant-mfa-bench";

/** The Cedar schema of the model; used once to validate the policy set in strict mode. */
export const CEDAR_SCHEMA = `
type Assurance = {
  aal: Long, pr: Bool, uv: Bool, startedAt: Long, provenAt: Long,
};
type Spec = {
  minAal?: Long, phishingResistant?: Bool, userVerification?: Bool, maxAgeSeconds?: Long,
};
entity Tenant = {
  posture: String,
  unknownRisk: Long,
  maxAgeSeconds?: Long,
  reauthIntervalSeconds?: Long,
  enforcementStartsAt?: Long,
  riskLow?: Spec,
  riskMedium?: Spec,
  riskHigh?: Spec,
};
entity User in [Tenant] = { population: String };
action signIn appliesTo {
  principal: User,
  resource: Tenant,
  context: {
    now: Long,
    mandates: Set<String>,
    ev: {
      password?: Assurance, totp?: Assurance, webauthn?: Assurance,
      recovery_code?: Assurance, federated?: Assurance,
    },
    risk?: Long,
    grant?: String,
    lastActivityAt?: Long,
    stepUp?: Spec,
    exemption?: {
      principal: User, tenant: Tenant, category: String, status: String,
      requestedBy: String, approvedBy?: String, startsAt: Long, expiresAt: Long,
    },
  },
};
`;

const ALL_METHODS: readonly Method[] = [
  "password",
  "totp",
  "webauthn",
  "recovery_code",
  "federated",
];
const SOURCE_OF: Readonly<Record<Method, "platform" | "idp">> = {
  password: "platform",
  totp: "platform",
  webauthn: "platform",
  recovery_code: "platform",
  federated: "idp",
};
const RISK_RANK: Readonly<Record<RiskLevel, number>> = { low: 1, medium: 2, high: 3 };
const RISK_ATTR: Readonly<Record<RiskLevel, string>> = {
  low: "riskLow",
  medium: "riskMedium",
  high: "riskHigh",
};

/** NIST SP 800-63B-4 reauthentication limits by AAL, in seconds: overall and idle. */
const REAUTH: Readonly<Record<number, { overall: number; idle: number | null }>> = {
  1: { overall: 30 * 86_400, idle: null },
  2: { overall: 86_400, idle: 3600 },
  3: { overall: 12 * 3600, idle: 900 },
};

/** What each posture requires, written for Cedar (compare src/core/postures.ts). */
const POSTURES: Readonly<Record<Posture, RequirementSpec>> = {
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
};

/** What a WebAuthn key proves beside a second factor or with UV: AAL3 only as attested hardware. */
const hardwareAal = (event: { attested?: boolean; backupEligible: boolean }): Aal =>
  event.attested === true && !event.backupEligible ? 3 : 2;

const slot = (method: Method): string => `context.ev.${method}`;

/** An idle-timeout test: the assurance or the last activity is within `idle` seconds. */
const notIdle = (s: string, idle: string): string =>
  `(if context has lastActivityAt then context.now - ${s}.provenAt <= ${idle} || ` +
  `context.now - context.lastActivityAt <= ${idle} else true)`;

/** `then` when the optional `attr` is present, else true; the form Cedar's validator follows. */
const ifHas = (path: string, attr: string, then: string): string =>
  `(if ${path} has ${attr} then ${then} else true)`;

/**
 * A Cedar expression true when some assurance of an accepted method meets a requirement whose
 * values are known when the policy is written (a posture, a mandate). `extra` adds conditions
 * that read tenant attributes.
 */
function meetsLiteral(spec: RequirementSpec, extra: (s: string) => string[] = () => []): string {
  const minAal = Math.max(1, spec.minAal ?? 1);
  const limits = REAUTH[minAal] ?? { overall: 30 * 86_400, idle: null };
  const reauth = Math.min(spec.reauthIntervalSeconds ?? Infinity, limits.overall);
  const idleLimits = [spec.idleTimeoutSeconds, limits.idle ?? undefined].filter(
    (v): v is number => v !== undefined,
  );
  const idle = idleLimits.length === 0 ? undefined : Math.min(...idleLimits);
  const methods = (spec.acceptedMethods ?? ALL_METHODS).filter((m) =>
    sourceAccepts(spec.proofSource, SOURCE_OF[m]),
  );
  if (methods.length === 0) return "false";
  return methods
    .map((method) => {
      const s = slot(method);
      const parts = [`context.ev has ${method}`, `${s}.aal >= ${String(minAal)}`];
      if (spec.phishingResistant === true) parts.push(`${s}.pr`);
      if (spec.userVerification === true) parts.push(`${s}.uv`);
      if (spec.maxAgeSeconds !== undefined) {
        parts.push(`context.now - ${s}.provenAt <= ${String(spec.maxAgeSeconds)}`);
      }
      parts.push(`context.now - ${s}.startedAt <= ${String(reauth)}`);
      if (idle !== undefined) parts.push(notIdle(s, String(idle)));
      parts.push(...extra(s));
      return `(${parts.join(" && ")})`;
    })
    .join(" || ");
}

function sourceAccepts(accepted: ProofSource | undefined, source: "platform" | "idp"): boolean {
  return accepted === undefined || accepted === "idp_or_platform" || accepted === source;
}

/**
 * A Cedar expression true when some assurance meets a requirement read from a record at `r`
 * (the step-up in the context, a tenant's risk rule): `minAal`, `phishingResistant`,
 * `userVerification`, `maxAgeSeconds`, with the NIST limits of the required AAL.
 */
function meetsRecord(r: string): string {
  const aalAtLeast = (n: number): string => `(${r} has minAal && ${r}.minAal >= ${String(n)})`;
  const overall = `(if ${aalAtLeast(3)} then ${String(REAUTH[3]?.overall)} else if ${aalAtLeast(2)} then ${String(REAUTH[2]?.overall)} else ${String(REAUTH[1]?.overall)})`;
  const idle = `(if ${aalAtLeast(3)} then ${String(REAUTH[3]?.idle)} else ${String(REAUTH[2]?.idle)})`;
  return ALL_METHODS.map((method) => {
    const s = slot(method);
    return (
      `(context.ev has ${method} && ${s}.aal >= 1` +
      ` && ${ifHas(r, "minAal", `${s}.aal >= ${r}.minAal`)}` +
      ` && ${ifHas(r, "phishingResistant", `${s}.pr || !${r}.phishingResistant`)}` +
      ` && ${ifHas(r, "userVerification", `${s}.uv || !${r}.userVerification`)}` +
      ` && ${ifHas(r, "maxAgeSeconds", `context.now - ${s}.provenAt <= ${r}.maxAgeSeconds`)}` +
      ` && context.now - ${s}.startedAt <= ${overall}` +
      ` && (if ${aalAtLeast(2)} then ${notIdle(s, idle)} else true))`
    );
  }).join(" || ");
}

const SOURCE_BITS: Readonly<Record<ProofSource, number>> = {
  platform: 1,
  idp: 2,
  idp_or_platform: 3,
};
const BITS_SOURCE: readonly (ProofSource | undefined)[] = [
  undefined,
  "platform",
  "idp",
  "idp_or_platform",
];

/** The join of two literal requirements (a mandate and one of its risk rules). */
function join(a: RequirementSpec, b: RequirementSpec): RequirementSpec {
  const min = (x: number | undefined, y: number | undefined): number | undefined =>
    x === undefined ? y : y === undefined ? x : Math.min(x, y);
  const maxAge = min(a.maxAgeSeconds, b.maxAgeSeconds);
  const reauth = min(a.reauthIntervalSeconds, b.reauthIntervalSeconds);
  const idle = min(a.idleTimeoutSeconds, b.idleTimeoutSeconds);
  let methods =
    a.acceptedMethods === undefined
      ? b.acceptedMethods
      : a.acceptedMethods.filter((m) => b.acceptedMethods?.includes(m) ?? true);
  let source: ProofSource | undefined;
  if (a.proofSource !== undefined || b.proofSource !== undefined) {
    const bits =
      SOURCE_BITS[a.proofSource ?? "idp_or_platform"] &
      SOURCE_BITS[b.proofSource ?? "idp_or_platform"];
    source = BITS_SOURCE[bits];
    // No common source: nothing can meet the requirement.
    if (source === undefined) methods = [];
  }
  return {
    minAal: Math.max(a.minAal ?? 1, b.minAal ?? 1) as Aal,
    phishingResistant: a.phishingResistant === true || b.phishingResistant === true,
    userVerification: a.userVerification === true || b.userVerification === true,
    ...(maxAge === undefined ? {} : { maxAgeSeconds: maxAge }),
    ...(reauth === undefined ? {} : { reauthIntervalSeconds: reauth }),
    ...(idle === undefined ? {} : { idleTimeoutSeconds: idle }),
    ...(methods === undefined ? {} : { acceptedMethods: methods }),
    ...(source === undefined ? {} : { proofSource: source }),
  };
}

const SIGN_IN = `permit(principal, action == Action::"signIn", resource)`;
const FORBID_SIGN_IN = `forbid(principal, action == Action::"signIn", resource)`;

/** A non-interactive integration with a verified token grant and no password. */
const TOKEN_INTEGRATION =
  `principal.population == "integration" && context has grant && ` +
  `["client_credentials", "jwt_bearer"].contains(context.grant) && !(context.ev has password)`;

/** A usable exemption: approved by someone else, active now, not for a shared login. */
const EXEMPT =
  `context has exemption && context.exemption.principal == principal && ` +
  `context.exemption.tenant == resource && context.exemption.status == "approved" && ` +
  `context.exemption has approvedBy && context.exemption.approvedBy != "" && ` +
  `context.exemption.approvedBy != context.exemption.requestedBy && ` +
  `context.exemption.startsAt <= context.now && context.now < context.exemption.expiresAt && ` +
  `context.exemption.category != "shared_login"`;

/** The tenant's posture is not yet enforced: only mandates and step-up bind. */
const REPORT_ONLY = `resource has enforcementStartsAt && context.now < resource.enforcementStartsAt`;

/** At least one verified factor within the AAL1 reauthentication limit. */
const BASELINE = meetsLiteral({ minAal: 1 });

/** The risk level a rule reads: the reported one, else the rule's own default for unknown. */
const riskLevel = (unknown: string): string =>
  `(if context has risk then context.risk else ${unknown})`;

/** Compiles one platform mandate into forbid policies: its requirement, then each risk rule. */
function mandatePolicies(mandate: PlatformMandate): string[] {
  const conditions = [`context.mandates.contains(${JSON.stringify(mandate.id)})`];
  const { tenants, populations } = mandate.scope;
  if (tenants !== "all") {
    conditions.push(
      `[${tenants.map((t) => `Tenant::${JSON.stringify(t)}`).join(", ")}].contains(resource)`,
    );
  }
  if (populations !== undefined) {
    // An integration that signs in interactively is held to the mandates of people (`direct`).
    const scoped = populations.includes("direct") ? [...populations, "integration"] : populations;
    conditions.push(`${JSON.stringify(scoped)}.contains(principal.population)`);
  }
  if (mandate.activeFrom !== undefined) {
    conditions.push(`context.now >= ${String(Date.parse(mandate.activeFrom) / 1000)}`);
  }
  if (mandate.activeUntil !== undefined) {
    conditions.push(`context.now < ${String(Date.parse(mandate.activeUntil) / 1000)}`);
  }
  const unless = [`unless { ${TOKEN_INTEGRATION} }`];
  if (mandate.exemptible) unless.push(`unless { ${EXEMPT} }`);
  const forbid = (id: string, when: readonly string[], spec: RequirementSpec): string =>
    `@id(${JSON.stringify(id)})\n${FORBID_SIGN_IN}\nwhen { ${when.join(" && ")} }\n` +
    `${unless.join("\n")}\nunless { ${meetsLiteral(spec)} };`;

  const policies = [forbid(`mandate/${mandate.id}`, conditions, mandate.require)];
  const rules: RiskRules = mandate.riskRules ?? {};
  const unknown = String(RISK_RANK[mandate.unknownRisk ?? "medium"]);
  for (const level of ["low", "medium", "high"] as const) {
    const rule = rules[level];
    if (rule === undefined) continue;
    policies.push(
      forbid(
        `mandate/${mandate.id}/risk-${level}`,
        [...conditions, `${riskLevel(unknown)} >= ${String(RISK_RANK[level])}`],
        join(mandate.require, rule),
      ),
    );
  }
  return policies;
}

/** The whole policy set: postures, tenant parameters and risk rules, step-up, every mandate. */
export function cedarPolicies(mandates: readonly PlatformMandate[]): string {
  const tenantFreshness = (s: string): string[] => [
    ifHas("resource", "maxAgeSeconds", `context.now - ${s}.provenAt <= resource.maxAgeSeconds`),
    ifHas(
      "resource",
      "reauthIntervalSeconds",
      `context.now - ${s}.startedAt <= resource.reauthIntervalSeconds`,
    ),
  ];
  const policies: string[] = [
    `@id("guest")\nforbid(principal, action, resource)\nwhen { principal.population == "guest" };`,
    `@id("integration-token")\n${SIGN_IN}\nwhen { ${TOKEN_INTEGRATION} };`,
    ...Object.entries(POSTURES).map(
      ([posture, spec]) =>
        `@id("posture/${posture}")\n${SIGN_IN}\n` +
        `when { resource.posture == ${JSON.stringify(posture)} && principal.population != "guest" }\n` +
        `when { ${meetsLiteral(spec, tenantFreshness)} };`,
    ),
    `@id("exempt-or-report-only")\n${SIGN_IN}\n` +
      `when { principal.population != "guest" && ((${EXEMPT}) || (${REPORT_ONLY})) }\n` +
      `when { ${BASELINE} };`,
    ...(["low", "medium", "high"] as const).map(
      (level) =>
        `@id("tenant/risk-${level}")\n${FORBID_SIGN_IN}\n` +
        `when { resource has ${RISK_ATTR[level]} && ` +
        `${riskLevel("resource.unknownRisk")} >= ${String(RISK_RANK[level])} }\n` +
        `unless { ${TOKEN_INTEGRATION} }\nunless { ${REPORT_ONLY} }\nunless { ${EXEMPT} }\n` +
        `unless { ${meetsRecord(`resource.${RISK_ATTR[level]}`)} };`,
    ),
    `@id("step-up")\n${FORBID_SIGN_IN}\nwhen { context has stepUp }\n` +
      `unless { ${TOKEN_INTEGRATION} }\nunless { ${meetsRecord("context.stepUp")} };`,
    ...mandates.flatMap(mandatePolicies),
  ];
  return policies.join("\n\n");
}

/** One assurance in the evidence digest; times in epoch seconds. */
interface DigestAssurance {
  aal: number;
  pr: boolean;
  uv: boolean;
  startedAt: number;
  provenAt: number;
}

/**
 * The evidence digest: the best assurance per proving method (highest AAL, then phishing
 * resistance, then the most recently proven), from the events a policy enforcement point would pass on
 * (well-timed, from this tenant's IdP, stating some assurance). NIST SP 800-63B-4: a password,
 * OTP or recovery code is one factor; WebAuthn is phishing-resistant and multi-factor with user
 * verification (AAL3 when device-bound); a password (or single-factor IdP sign-in) followed by a
 * second factor of another kind is multi-factor.
 */
function evidenceDigest(input: EvaluationInput, nowMs: number): Record<string, DigestAssurance> {
  interface Usable {
    readonly event: AuthenticationEvent;
    readonly at: number;
  }
  const usable: Usable[] = [];
  for (const event of input.evidence.events) {
    const at = Date.parse(event.at);
    if (!Number.isFinite(at) || at > nowMs + 60_000) continue;
    if (
      event.method === "federated" &&
      (event.tenant !== input.tenant || event.assurance.aal === 0)
    )
      continue;
    usable.push({ event, at: at / 1000 });
  }
  const best: Record<string, DigestAssurance> = {};
  const offer = (method: Method, candidate: DigestAssurance): void => {
    const current = best[method];
    if (
      current === undefined ||
      candidate.aal > current.aal ||
      (candidate.aal === current.aal &&
        (candidate.pr !== current.pr ? candidate.pr : candidate.provenAt > current.provenAt))
    ) {
      best[method] = candidate;
    }
  };
  for (const { event, at } of usable) {
    const single = { startedAt: at, provenAt: at };
    switch (event.method) {
      case "password":
      case "totp":
      case "recovery_code":
        offer(event.method, { aal: 1, pr: false, uv: true, ...single });
        break;
      case "webauthn": {
        const aal = event.userVerified ? hardwareAal(event) : 1;
        offer("webauthn", { aal, pr: true, uv: event.userVerified, ...single });
        break;
      }
      case "federated":
        offer("federated", {
          aal: event.assurance.aal,
          pr: event.assurance.phishingResistant,
          uv: true,
          ...single,
        });
        break;
    }
  }
  for (const first of usable) {
    const primary =
      first.event.method === "password" ||
      (first.event.method === "federated" && first.event.assurance.aal >= 1);
    if (!primary) continue;
    for (const second of usable) {
      const e = second.event;
      // The reauthentication interval runs from the first step, the MFA's age from the second.
      const span = { startedAt: Math.min(first.at, second.at), provenAt: second.at };
      if (e.method === "totp" || e.method === "recovery_code") {
        offer(e.method, { aal: 2, pr: false, uv: true, ...span });
      } else if (e.method === "webauthn" && !e.userVerified) {
        offer("webauthn", { aal: hardwareAal(e), pr: true, uv: false, ...span });
      }
    }
  }
  return best;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

function specRecord(spec: RequirementSpec): Record<string, CedarValueJson> {
  const record: Record<string, CedarValueJson> = {};
  if (spec.minAal !== undefined) record.minAal = spec.minAal;
  if (spec.phishingResistant !== undefined) record.phishingResistant = spec.phishingResistant;
  if (spec.userVerification !== undefined) record.userVerification = spec.userVerification;
  if (spec.maxAgeSeconds !== undefined) record.maxAgeSeconds = spec.maxAgeSeconds;
  return record;
}

/** The tenant entity: posture and parameters (tenant policies are data, not Cedar policies). */
function tenantEntity(input: EvaluationInput): EntityJson {
  const { policy } = input;
  const attrs: Record<string, CedarValueJson> = {
    posture: policy.posture,
    unknownRisk: RISK_RANK[policy.unknownRisk ?? "medium"],
  };
  if (policy.require?.maxAgeSeconds !== undefined) {
    attrs.maxAgeSeconds = policy.require.maxAgeSeconds;
  }
  if (policy.require?.reauthIntervalSeconds !== undefined) {
    attrs.reauthIntervalSeconds = policy.require.reauthIntervalSeconds;
  }
  if (policy.enforcementStartsAt !== undefined) {
    attrs.enforcementStartsAt = seconds(policy.enforcementStartsAt);
  }
  for (const level of ["low", "medium", "high"] as const) {
    const rule = policy.riskRules?.[level];
    if (rule !== undefined) attrs[RISK_ATTR[level]] = specRecord(rule);
  }
  return { uid: { type: "Tenant", id: input.tenant }, attrs, parents: [] };
}

/** Converts one input into a stateful Cedar request against the preparsed policy set. */
export function toCedarCall(input: EvaluationInput, now: Date): StatefulAuthorizationCall {
  const nowMs = now.getTime();
  const user = { type: "User", id: `${input.tenant}/${input.principal.id}` };
  const tenant = { type: "Tenant", id: input.tenant };
  const context: Record<string, CedarValueJson> = {
    now: nowMs / 1000,
    mandates: (input.mandates ?? []).map((m) => m.id),
    ev: evidenceDigest(input, nowMs) as unknown as Record<string, CedarValueJson>,
  };
  if (input.risk !== undefined) context.risk = RISK_RANK[input.risk];
  if (input.evidence.grant !== undefined) context.grant = input.evidence.grant;
  if (input.lastActivityAt !== undefined) context.lastActivityAt = seconds(input.lastActivityAt);
  if (input.stepUp !== undefined) context.stepUp = specRecord(input.stepUp);
  const exemption = input.exemptions?.[0];
  if (exemption !== undefined) {
    context.exemption = {
      principal: { __entity: { type: "User", id: `${exemption.tenant}/${exemption.principal}` } },
      tenant: { __entity: { type: "Tenant", id: exemption.tenant } },
      category: exemption.category,
      status: exemption.status,
      requestedBy: exemption.requestedBy,
      ...(exemption.approvedBy === undefined ? {} : { approvedBy: exemption.approvedBy }),
      startsAt: seconds(exemption.startsAt),
      expiresAt: seconds(exemption.expiresAt),
    };
  }
  return {
    principal: user,
    action: { type: "Action", id: "signIn" },
    resource: tenant,
    context,
    preparsedPolicySetId: POLICY_SET_ID,
    entities: [
      { uid: user, attrs: { population: input.principal.population }, parents: [tenant] },
      tenantEntity(input),
    ],
  };
}

/** The policy set, parsed and cached by Cedar, and the requests to send it. */
export interface CedarBaseline {
  readonly policyCount: number;
  readonly calls: readonly StatefulAuthorizationCall[];
}

const messages = (errors: readonly { message: string }[]): string =>
  errors.map((e) => e.message).join("; ");

/**
 * Validates the policy set against the schema (strict), preparses it into Cedar's cache, and
 * converts every input. Throws when Cedar rejects the policies: a baseline that does not parse
 * would measure nothing.
 */
export function prepareCedar(
  inputs: readonly EvaluationInput[],
  mandates: readonly PlatformMandate[],
  now: Date,
): CedarBaseline {
  const text = cedarPolicies(mandates);
  const validation = validate({
    schema: CEDAR_SCHEMA,
    policies: { staticPolicies: text },
    validationSettings: { mode: "strict" },
  });
  if (validation.type === "failure") {
    throw new Error(`Cedar validation failed: ${messages(validation.errors)}`);
  }
  if (validation.validationErrors.length > 0) {
    const detail = validation.validationErrors
      .map((e) => `${e.policyId}: ${e.error.message}`)
      .join("; ");
    throw new Error(`Cedar policies do not match the schema: ${detail}`);
  }
  const parsed = preparsePolicySet(POLICY_SET_ID, { staticPolicies: text });
  if (parsed.type === "failure") {
    throw new Error(`Cedar could not parse the policy set: ${messages(parsed.errors)}`);
  }
  const policyCount = (text.match(/^(permit|forbid)\(/gm) ?? []).length;
  return { policyCount, calls: inputs.map((input) => toCedarCall(input, now)) };
}

/**
 * One Cedar decision: `allow`, `deny`, or `error` when Cedar could not answer or a policy
 * raised an evaluation error (which Cedar skips, so the decision might not be the intended one).
 */
export function cedarDecision(call: StatefulAuthorizationCall): "allow" | "deny" | "error" {
  const answer = statefulIsAuthorized(call);
  if (answer.type === "failure" || answer.response.diagnostics.errors.length > 0) return "error";
  return answer.response.decision;
}

export { statefulIsAuthorized };
